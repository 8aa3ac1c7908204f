%% v5_0: a MongooseIM 5.0.1 node (the last ejabberd_config release). Exercises:
%%  - host types: hosts ++ host_types from ejabberd_config:get_global_option_or_default/2 (new in
%%    5.0), a host type with a space (metric prefix secret_tenant_50), domain_count from
%%    mongoose_domain_core (static hosts plus dynamic domains);
%%  - gen_mod:get_module_opts/2 instead of opts_for_module/2 (which 5.0 no longer exports), the
%%    ejabberd_modules record field module_host_type, modules reported for every host type with
%%    the caller's defaults where they are not loaded;
%%  - two c2s listeners, tls and starttls, both fast_tls: starttls wins (first in the list
%%    MongooseIM checks), one tls_option in all;
%%  - the pre-5.1 HTTP allow-list: mongoose_domain_handler (configured) is not reported;
%%  - config_type from ejabberd_config:get_config_path/0.
{version, "5.0.1"}.
{cluster_id, <<"50505050-5050-4050-8050-5ec2e7420050">>}.
{config_path, "/opt/secret-install-50/etc/mongooseim.toml"}.

{global, [{hosts, [<<"secret-host-50.example.org">>]},
          {host_types, [<<"secret tenant 50">>]},
          {default_server_domain, <<"secret-host-50.example.org">>}]}.

{local,
 [{listen,
   [{{5222, {192, 0, 2, 50}, tcp}, ejabberd_c2s,
     [{access, c2s}, {shaper, c2s_shaper}, {max_stanza_size, 65536}, tls,
      {certfile, "/opt/secret-install-50/priv/ssl/secret-cert-50.pem"}]},
    {{5223, {192, 0, 2, 50}, tcp}, ejabberd_c2s,
     [{access, c2s}, {shaper, c2s_shaper}, starttls,
      {certfile, "/opt/secret-install-50/priv/ssl/secret-cert-50.pem"}]},
    {{5280, {192, 0, 2, 50}, tcp}, ejabberd_cowboy,
     [{num_acceptors, 10}, {max_connections, 1024},
      {modules, [{"_", "/http-bind", mod_bosh, []}, {"_", "/ws-xmpp", mod_websockets, []}]}]},
    {{8088, {127, 0, 0, 1}, tcp}, ejabberd_cowboy,
     [{num_acceptors, 2}, {max_connections, 64},
      {modules, [{"localhost", "/api", mongoose_api_admin, []},
                 {"localhost", "/api", mongoose_domain_handler,
                  [{password, "secret-domain-admin-50"}]}]}]}]},
  {outgoing_pools,
   [{rdbms, global, default, [{workers, 5}],
     [{server, {pgsql, "db-secret-50.internal", "mim50", "mim", "secret-password-50"}}]}]},
  {services, [{service_mongoose_system_metrics,
               [report, {initial_report, 300000}, {periodic_report, 10800000}]},
              {service_domain_db, [{event_cleaning_interval, 1800}]}]},
  {sm_backend, {mnesia, []}}]}.

{modules,
 [{<<"secret-host-50.example.org">>,
   [{mod_disco, []},
    {mod_roster, [{backend, rdbms}]},
    {mod_offline, []},
    {mod_bosh, []},
    {mod_ping, []}]},
  {<<"secret tenant 50">>,
   [{mod_roster, [{backend, rdbms}]},
    {mod_inbox, []},
    {mod_muc_light, [{backend, rdbms}]},
    {mod_cache_users, []}]}]}.

{domains, [{<<"tenant-a.secret-50.example.org">>, <<"secret tenant 50">>},
           {<<"tenant-b.secret-50.example.org">>, <<"secret tenant 50">>}]}.

{components, [{<<"bot.secret-50.example.net">>, local}]}.

{stanzas, [{xmppMessageSent, 50}, {xmppMessageReceived, 101}, {xmppIqSent, 500},
           {xmppIqReceived, 498}, {xmppPresenceSent, 5}, {xmppPresenceReceived, 10}]}.
