%% Stand-in for mongoose_system_metrics_collector of MongooseIM 3.7-6.0: collect/1 takes the
%% previous report and returns Universal-Analytics structs #{report_name, key, value}, computed
%% by mim_standin_baseline with the release's rules (3.7.0/4.0.1/5.0.0/5.1.0/6.0.0:
%% src/system_metrics/mongoose_system_metrics_collector.erl).
-module(mongoose_system_metrics_collector).

-export([collect/1]).

collect(PrevReport) ->
    mim_standin_baseline:native(PrevReport, exometer).
