%% v6_3_none: the v6_3 node with an `instrumentation' section that configures no handler (only
%% the default probe_interval). 6.3 still reads exometer and still sends the six stanza events,
%% with total 0; neither exometer nor prometheus_counter is loaded at boot. The service is
%% configured without `report' (the transparency notice loads mongoose_system_metrics_file).
{inherit, "v6_3"}.
{update, config,
 #{instrumentation => #{probe_interval => 15},
   services => #{service_mongoose_system_metrics => #{}}}}.
%% Its first report is still to come (initial_report has not elapsed): the collector, exometer and
%% prometheus_counter are all unloaded.
{service_reported, false}.
