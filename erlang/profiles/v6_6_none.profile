%% v6_6_none: the v6_6 node without any instrumentation handler (only probe_interval): the
%% service passes `none' to collect/2 and the report has no xmpp_stanza_count event. Neither
%% exometer nor prometheus_counter is loaded; prometheus is not running, so
%% prometheus_counter:values/2 fails.
{inherit, "v6_6"}.
{update, config, #{instrumentation => #{probe_interval => 15}}}.
