%% Stand-in for mongoose_system_metrics_collector of MongooseIM 6.4+: collect/2 takes the previous
%% report and what the service decided about stanza counts when it started, and returns GA4 events
%% computed by mim_standin_baseline with the release's rules. Compiled twice
%% (erlang/launcher.py LAYER_VARIANTS):
%%   collect_6_4  6.4-6.5: ExometerEnabled :: boolean()   (6.4.0:src/system_metrics/...)
%%   collect_6_6  6.6+:    exometer | prometheus | none  (6.6.0:src/system_metrics/...)
%% Any other second argument fails with function_clause, as it does on the release.
-module(mongoose_system_metrics_collector).

-export([collect/2]).

-ifdef(EXOMETER_ENABLED).
collect(PrevReport, ExometerEnabled) when is_boolean(ExometerEnabled) ->
    mim_standin_baseline:native(PrevReport, ExometerEnabled).
-endif.
-ifdef(METRICS_MODULE).
collect(PrevReport, MetricsModule)
  when MetricsModule =:= exometer; MetricsModule =:= prometheus; MetricsModule =:= none ->
    mim_standin_baseline:native(PrevReport, MetricsModule).
-endif.
