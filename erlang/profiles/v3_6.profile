%% v3_6: a MongooseIM 3.6.2 node (3.6.0-3.6.2 era). Exercises:
%%  - collect/0 and the 3.6 item set: no outgoing pools, no stanza counts (the legacy exometer
%%    counters exist and have traffic, but 3.6 does not report them), no config_type, no
%%    ejabberd_config:get_config_path/0, a `.cfg' config file;
%%  - several c2s listeners with different TLS modes: one starttls_required (fast_tls), one tls
%%    with {tls_module, just_tls}: ONE tls_option for all of them, the first mode of
%%    [starttls, starttls_required, tls] found in their flattened options (starttls_required) and
%%    just_tls because one listener has it;
%%  - transport from the first `modules' entry of the cowboy listeners only (mod_websockets there,
%%    mod_bosh in the second HTTP listener is missed), http_api from all of them;
%%  - two hosts: modules reported for every host with the caller's defaults where a module is not
%%    loaded; mod_ping still has the metrics behaviour in 3.6 (reported, not custom); mod_event_pusher
%%    with the push backend reports {backend, push} and {backend, push_mnesia};
%%  - the service configured with `report' (no transparency notice), running and, by default,
%%    having reported (its collector is loaded).
{version, "3.6.2"}.
{cluster_id, <<"36363636-3636-4636-8636-5ec2e7420036">>}.
{config_path, "/opt/secret-install-36/etc/mongooseim.cfg"}.

{global, [{hosts, [<<"secret-host-36.example.com">>, <<"secret-host-36b.example.com">>]},
          {language, <<"en">>}]}.

{local,
 [{listen,
   [{{5222, {192, 0, 2, 36}, tcp}, ejabberd_c2s,
     [{access, c2s}, {shaper, c2s_shaper}, {max_stanza_size, 65536}, starttls_required,
      {certfile, "/opt/secret-install-36/priv/ssl/secret-cert-36.pem"}]},
    {{5223, {192, 0, 2, 36}, tcp}, ejabberd_c2s,
     [{access, c2s}, {shaper, c2s_shaper}, tls, {tls_module, just_tls},
      {certfile, "/opt/secret-install-36/priv/ssl/secret-cert-36b.pem"}]},
    {{5280, {192, 0, 2, 36}, tcp}, ejabberd_cowboy,
     [{num_acceptors, 10}, {max_connections, 1024},
      {modules, [{"_", "/ws-xmpp", mod_websockets, []},
                 {"secret-host-36.example.com", "/api", mongoose_api_admin,
                  [{auth, {<<"secret-admin-36">>, <<"secret-admin-password-36">>}}]}]}]},
    {{5285, {192, 0, 2, 36}, tcp}, ejabberd_cowboy,
     [{num_acceptors, 10}, {max_connections, 1024},
      {modules, [{"_", "/http-bind", mod_bosh}]}]},
    {{5269, {192, 0, 2, 36}, tcp}, ejabberd_s2s_in, [{shaper, s2s_shaper}, {max_stanza_size, 131072}]}]},
  {outgoing_pools,
   [{rdbms, global, default, [{workers, 10}],
     [{server, {pgsql, "db-secret-36.internal", "mim36", "mim", "secret-password-36"}}]}]},
  {services, [{service_mongoose_system_metrics,
               [report, {initial_report, 300000}, {periodic_report, 10800000}]}]},
  {sm_backend, {mnesia, []}}]}.

{modules,
 [{<<"secret-host-36.example.com">>,
   [{mod_adhoc, []},
    {mod_disco, [{users_can_see_hidden_services, false}]},
    {mod_roster, [{backend, rdbms}]},
    {mod_ping, [{send_pings, true}]},
    {mod_mam_meta, [{backend, rdbms}, {pm, []}]},
    {mod_event_pusher, [{backends, [{push, [{backend, mnesia}, {wpool, [{workers, 10}]}]}]}]},
    {mod_bosh, []},
    {mod_last, []}]},
  {<<"secret-host-36b.example.com">>,
   [{mod_disco, []},
    {mod_roster, []}]}]}.

{components, [{<<"bot.secret-36.example.net">>, local},
              {<<"gw.secret-36.example.net">>, remote}]}.

{stanzas, [{xmppMessageSent, 36}, {xmppMessageReceived, 72}, {xmppIqSent, 360},
           {xmppIqReceived, 359}, {xmppPresenceSent, 3}, {xmppPresenceReceived, 6}]}.
