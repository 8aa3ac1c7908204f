%% v4_2: a MongooseIM 4.2.0 node (API generation 4.x: ejabberd_config, no mongoose_config, no
%% mongoose_domain_core, tuple listeners and pools, proplist module options with caller-supplied
%% defaults, UA-era collect/1). Close to shared/reference/observed-mim-4.2.0.txt, plus:
%%  - two HTTP listeners: the first has only mod_bosh, the second mod_websockets and
%%    mongoose_api_admin. 4.x transport detection reads only the first `modules' entry, so
%%    mod_websockets counts as an HTTP API but not as a transport mechanism;
%%  - c2s with starttls and {tls_module, just_tls};
%%  - two outgoing pools (rdbms, http); mod_push_service_mongoosepush with no api_version (the
%%    default "v3", a charlist, applies); mod_bosh without opts (default backend mnesia);
%%  - the system-metrics service configured without report (running), non-zero stanza counters.
{version, "4.2.0"}.
{cluster_id, <<"3c1256d1-c6ba-45e9-b990-5ec2e7420042">>}.
{config_path, "/opt/secret-install-42/etc/mongooseim.toml"}.

{global, [{hosts, [<<"secret-host-42.example.com">>]},
          {language, <<"en">>}]}.

{local,
 [{listen,
   [{{5252, {192, 0, 2, 42}, tcp}, ejabberd_c2s,
     [{access, c2s}, {max_stanza_size, 65536}, {shaper, c2s_shaper},
      {certfile, "/opt/secret-install-42/priv/ssl/secret-cert-42.pem"},
      starttls, {tls_module, just_tls}]},
    {{5310, {192, 0, 2, 42}, tcp}, ejabberd_cowboy,
     [{modules, [{"_", "/http-bind", mod_bosh, []}]},
      {transport_options, [{max_connections, 1024}, {num_acceptors, 10}]}]},
    {{8088, {127, 0, 0, 1}, tcp}, ejabberd_cowboy,
     [{modules, [{"_", "/ws-xmpp", mod_websockets, []},
                 {"secret-host-42.example.com", "/api", mongoose_api_admin, []}]},
      {transport_options, [{max_connections, 64}, {num_acceptors, 2}]}]}]},
  {outgoing_pools,
   [{rdbms, global, default, [{workers, 5}],
     [{server, {pgsql, "db-secret-42.internal", "mimdb", "mimuser", "secret-password-42"}}]},
    {http, global, secret_push_42, [{strategy, available_worker}],
     [{server, "https://push-secret-42.example.com"}]}]},
  {services, [{service_mongoose_system_metrics,
               [{initial_report, 300000}, {periodic_report, 10800000}]}]},
  {sm_backend, {mnesia, []}}]}.

{modules,
 [{<<"secret-host-42.example.com">>,
   [{mod_last, [{backend, mnesia}]},
    {mod_bosh, []},
    {mod_vcard, [{backend, ldap}, {ldap_base, "ou=secret-people,dc=secret42"}]},
    {mod_disco, [{users_can_see_hidden_services, false}]},
    {mod_private, [{backend, mnesia}]},
    {mod_roster, [{backend, rdbms}]},
    {mod_muc_light, [{backend, mnesia}]},
    {mod_offline, [{backend, mnesia}]},
    {mod_push_service_mongoosepush, [{pool_name, secret_push_42}]},
    {mod_ping, []}]}]}.

{stanzas, [{xmppMessageSent, 4}, {xmppMessageReceived, 6}, {xmppIqSent, 12},
           {xmppIqReceived, 12}, {xmppPresenceSent, 3}, {xmppPresenceReceived, 5}]}.
