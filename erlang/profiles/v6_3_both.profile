%% v6_3_both: the v6_3 node with exometer AND prometheus instrumentation (as in MongooseIM's own
%% test configs, rel/mim1.vars-toml.config). The collector reads exometer, whose 6.3 entries now
%% exist: the stanza totals are the node's traffic, split over the host types.
{inherit, "v6_3"}.
{update, config,
 #{instrumentation => #{exometer => #{all_metrics_are_global => false, report => #{}},
                        prometheus => #{}, log => #{level => debug}, probe_interval => 15}}}.
