%% v6_4_exometer: the v6_4 node with exometer instrumentation only (what the old `v6_4' profile
%% was): ExometerEnabled = true, so stanza counts are read from exometer with the 6.4+ names
%% [HostPrefix, xmpp_element_in | xmpp_element_out, c2s | s2s | component, <kind>_count] -- c2s
%% and s2s per host type plus `global', component `global' only, all summed.
{inherit, "v6_4"}.
{update, config,
 #{instrumentation => #{exometer => #{all_metrics_are_global => false, report => #{}},
                        log => #{level => debug}, probe_interval => 15}}}.
