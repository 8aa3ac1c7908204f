%% Stand-in for mongoose_system_metrics_collector of MongooseIM 6.1-6.3: collect/1 returns GA4
%% events #{name, params}, computed by the in-VM baseline.
-module(mongoose_system_metrics_collector).

-export([collect/1]).

collect(PrevReport) ->
    mim_standin_baseline:report(PrevReport).
