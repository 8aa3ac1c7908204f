%% v6_8: a MongooseIM 6.8.0 node with exometer-only instrumentation (prometheus not configured;
%% the collector falls back to exometer, 6.4+ names), as in HEAD's exometer_instrumentation test
%% group. HEAD module set: mod_pubsub_old and mod_broadcast carry the metrics behaviour; the new
%% mod_pubsub, mod_caps, mod_stanzaid, mod_blocklist and mod_fast_auth_token are gen_mod only.
%% mod_event_pusher with push and sns backends reports only the last key (sns). A c2s listener
%% without TLS; the only HTTP handler is GraphQL.
{version, "6.8.0"}.
{cluster_id, <<"ephemeral-68686868-68a6-4b68-8c68-5ec2e7420068">>}.
{config_path, "/opt/secret-install-68/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-68.example.net">>],
   host_types => [<<"secret tenant 68">>],
   internal_databases => #{mnesia => #{}},
   instrumentation => #{exometer => #{all_metrics_are_global => false, report => #{}},
                        log => #{level => debug}, probe_interval => 15},
   listen =>
       [#{access => c2s, backlog => 1024, connection_type => c2s, hibernate_after => 0,
          ip_address => "203.0.113.68", ip_tuple => {203, 0, 113, 68}, ip_version => 4,
          max_connections => infinity, max_stanza_size => 65536,
          module => mongoose_c2s_listener, num_acceptors => 100, port => 5222, proto => tcp,
          proxy_protocol => false, reuse_port => false, shaper => c2s_shaper},
        #{connection_type => undefined,
          handlers =>
              [#{host => '_', module => mongoose_graphql_handler, path => "/api/graphql",
                 schema_endpoint => admin, username => "secret-gql-admin-68",
                 password => "secret-gql-password-68"}],
          ip_address => "127.0.0.1", ip_tuple => {127, 0, 0, 1}, ip_version => 4,
          module => ejabberd_cowboy, port => 5551, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 1024, num_acceptors => 10}}],
   outgoing_pools =>
       [#{type => http, scope => global, tag => secret_push_68, opts => #{workers => 50},
          conn_opts => #{host => "https://push-secret-68.example.com"}}],
   services => #{service_mongoose_system_metrics =>
                     #{initial_report => 300000, periodic_report => 10800000}}}}.

{modules,
 [{<<"secret-host-68.example.net">>,
   [#{mod_broadcast => #{},
      mod_event_pusher => #{push => #{backend => mnesia, wpool => #{workers => 10}},
                            sns => #{access_key_id => "SECRETAKID68", region => "eu-west-1"}},
      mod_pubsub_old => #{backend => mnesia, host => {prefix, <<"pubsub.">>}},
      mod_pubsub => #{},
      mod_push_service_mongoosepush => #{api_version => <<"v3">>, pool_name => secret_push_68},
      mod_roster => #{backend => mnesia, iqdisc => one_queue},
      mod_blocklist => #{},
      mod_fast_auth_token => #{backend => rdbms}}]},
  {<<"secret tenant 68">>,
   [#{mod_roster => #{backend => rdbms, iqdisc => one_queue},
      mod_stanzaid => #{},
      mod_caps => #{backend => cets}}]}]}.

{domains, [{<<"tenant-a.secret-68.example.org">>, <<"secret tenant 68">>}]}.

{stanzas, [{xmppMessageSent, 68}, {xmppMessageReceived, 136}, {xmppIqSent, 680},
           {xmppIqReceived, 679}, {xmppPresenceSent, 8}, {xmppPresenceReceived, 16}]}.
