%% Stand-in for mongoose_system_metrics_collector of MongooseIM 6.4+: collect/2 takes the previous
%% report and the stanza-metrics choice of the service (6.4-6.5: ExometerEnabled :: boolean();
%% 6.6+: MetricsModule :: prometheus | exometer | none). Pass `default' to let the node decide.
-module(mongoose_system_metrics_collector).

-export([collect/2]).

collect(PrevReport, MetricsChoice) ->
    mim_standin_baseline:report(PrevReport, MetricsChoice).
