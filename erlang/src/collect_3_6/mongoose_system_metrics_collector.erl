%% Stand-in for mongoose_system_metrics_collector of MongooseIM 3.6: collect/0 returns the
%% Universal-Analytics structs #{report_name, key, value} of the 3.6 items (no outgoing pools, no
%% stanza counts, no config_type), computed by mim_standin_baseline with 3.6's rules
%% (3.6.0:src/system_metrics/mongoose_system_metrics_collector.erl).
-module(mongoose_system_metrics_collector).

-export([collect/0]).

collect() ->
    mim_standin_baseline:native([], none).
