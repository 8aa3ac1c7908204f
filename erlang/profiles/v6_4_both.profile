%% v6_4_both: the v6_4 node with exometer AND prometheus instrumentation: 6.4-6.5 only ask
%% whether exometer is configured, so the counts come from exometer (prometheus has the same
%% traffic and is ignored).
{inherit, "v6_4"}.
{update, config,
 #{instrumentation => #{exometer => #{all_metrics_are_global => false, report => #{}},
                        prometheus => #{}, log => #{level => debug}, probe_interval => 15}}}.
