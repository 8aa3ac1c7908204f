%% Stand-in for mongoose_system_metrics_collector of MongooseIM 6.1-6.3: collect/1 takes the
%% previous report and returns GA4 events #{name, params}, computed by mim_standin_baseline with
%% the release's rules (6.1.0/6.2.0/6.3.0:src/system_metrics/mongoose_system_metrics_collector.erl).
-module(mongoose_system_metrics_collector).

-export([collect/1]).

collect(PrevReport) ->
    mim_standin_baseline:native(PrevReport, exometer).
