%% v3_7: a MongooseIM 3.7.1 node (3.7.0-4.0.0 era: collect/1, still no config_type, a `.cfg'
%% config file). Exercises:
%%  - outgoing pools and stanza counts appear (legacy exometer [Host, xmppMessageSent] spirals);
%%  - a c2s listener without any TLS option: tls_option with mode none and module none;
%%  - 3.7's default-filled module options: mod_http_upload without opts reports s3,
%%    mod_push_service_mongoosepush without api_version reports the charlist "v3",
%%    mod_vcard with ldap; mod_ping is gen_mod only from 3.7 (custom);
%%  - an HTTP listener with BOSH and websockets in its first `modules' entry and a second one with
%%    the client REST API (mongoose_client_api_messages is allow-listed up to 5.0);
%%  - the service configured without `report' (the transparency notice loads
%%    mongoose_system_metrics_file at boot).
{version, "3.7.1"}.
{cluster_id, <<"37373737-3737-4737-8737-5ec2e7420037">>}.
{config_path, "/opt/secret-install-37/etc/mongooseim.cfg"}.

{global, [{hosts, [<<"secret-host-37.example.com">>]}]}.

{local,
 [{listen,
   [{{5222, {192, 0, 2, 37}, tcp}, ejabberd_c2s,
     [{access, c2s}, {shaper, c2s_shaper}, {max_stanza_size, 65536}]},
    {{5280, {192, 0, 2, 37}, tcp}, ejabberd_cowboy,
     [{num_acceptors, 10}, {max_connections, 1024},
      {modules, [{"_", "/http-bind", mod_bosh}, {"_", "/ws-xmpp", mod_websockets, []}]}]},
    {{8089, {192, 0, 2, 37}, tcp}, ejabberd_cowboy,
     [{num_acceptors, 10}, {max_connections, 1024},
      {modules, [{"_", "/api/messages/[:with]", mongoose_client_api_messages, []}]}]}]},
  {outgoing_pools,
   [{rdbms, global, default, [{workers, 10}],
     [{server, {mysql, "db-secret-37.internal", "mim37", "mim", "secret-password-37"}}]},
    {redis, global, default, [{workers, 4}], [{host, "redis-secret-37.internal"}]},
    {http, host, secret_push_37, [{strategy, available_worker}],
     [{server, "https://push-secret-37.example.com"}]}]},
  {services, [{service_mongoose_system_metrics, [{initial_report, 300000}]}]},
  {sm_backend, {mnesia, []}}]}.

{modules,
 [{<<"secret-host-37.example.com">>,
   [{mod_disco, []},
    {mod_roster, []},
    {mod_vcard, [{backend, ldap}, {ldap_base, "ou=secret-people,dc=secret37"}]},
    {mod_http_upload, [{max_file_size, 10485760}]},
    {mod_push_service_mongoosepush, [{pool_name, secret_push_37}]},
    {mod_muc, [{backend, mnesia}, {host, "muc.@HOST@"}]},
    {mod_carboncopy, []},
    {mod_bosh, []},
    {mod_ping, []}]}]}.

{stanzas, [{xmppMessageSent, 37}, {xmppMessageReceived, 73}, {xmppIqSent, 370},
           {xmppIqReceived, 369}, {xmppPresenceSent, 7}, {xmppPresenceReceived, 14}]}.
