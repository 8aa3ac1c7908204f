%% v3_6_no_c2s: the v3_6 node without any c2s listener (only HTTP listeners, BOSH first) and with
%% the service configured as `no_report'. Exercises: no tcp transport and NO tls_option struct at
%% all (3.6-5.0 send one only when a c2s listener has options); transport mod_bosh from the first
%% `modules' entry; the service configured (verify_if_configured/0 answers ok) but its process
%% not running, so its collector is not loaded.
{inherit, "v3_6"}.
{update, local,
 [{listen,
   [{{5280, {192, 0, 2, 36}, tcp}, ejabberd_cowboy,
     [{num_acceptors, 10}, {max_connections, 1024},
      {modules, [{"_", "/http-bind", mod_bosh}]}]},
    {{8088, {127, 0, 0, 1}, tcp}, ejabberd_cowboy,
     [{num_acceptors, 2}, {max_connections, 64},
      {modules, [{"_", "/api", mongoose_api_admin, []},
                 {"_", "/ws-xmpp", mod_websockets, []}]}]}]},
  {services, [{service_mongoose_system_metrics, [no_report]}]}]}.
