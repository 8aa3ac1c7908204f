%% Stand-in for mongoose_system_metrics_collector of MongooseIM 4.x-6.0: collect/1 returns the
%% Universal-Analytics-era structs #{report_name, key, value}, computed by the in-VM baseline.
-module(mongoose_system_metrics_collector).

-export([collect/1]).

collect(PrevReport) ->
    mim_standin_baseline:ua_report(PrevReport).
