%% v6_4: a MongooseIM 6.4.0 node as shipped (6.4-6.5 era): rel/prod.vars-toml.config of 6.4 and
%% 6.5 configures only [instrumentation.prometheus] and [instrumentation.log], so the service
%% passes ExometerEnabled = false to collect/2 and the report has NO xmpp_stanza_count event at
%% all, although the node has traffic (counted in prometheus). Also: the c2s `tls' map has no
%% `module' key (no tls_option event is ever produced), listener modules mongoose_s2s_listener and
%% mongoose_component_listener, 6.4 component records, an "ephemeral-" cluster id (no RDBMS),
%% get_backend_cluster_id/0 -> {error, no_value_in_backend}.
{version, "6.4.0"}.
{cluster_id, <<"ephemeral-8c1d3f7e-64a4-4b64-9c64-5ec2e7420064">>}.
{config_path, "/opt/secret-install-64/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-64.example.net">>],
   host_types => [<<"secret tenant 64">>],
   internal_databases => #{mnesia => #{}},
   instrumentation => #{prometheus => #{}, log => #{level => debug}, probe_interval => 15},
   listen =>
       [#{access => c2s, backlog => 1024, connection_type => c2s, hibernate_after => 0,
          ip_address => "203.0.113.64", ip_tuple => {203, 0, 113, 64}, ip_version => 4,
          max_connections => infinity, max_stanza_size => 65536,
          module => mongoose_c2s_listener, num_acceptors => 100, port => 5222, proto => tcp,
          proxy_protocol => false, reuse_port => false, shaper => c2s_shaper,
          tls => #{certfile => "/opt/secret-install-64/priv/ssl/secret-cert-64.pem",
                   mode => starttls, verify_mode => none}},
        #{connection_type => s2s, ip_address => "203.0.113.64", ip_tuple => {203, 0, 113, 64},
          ip_version => 4, module => mongoose_s2s_listener, port => 5269, proto => tcp,
          shaper => s2s_shaper},
        #{access => all, connection_type => component, ip_address => "127.0.0.1",
          ip_tuple => {127, 0, 0, 1}, ip_version => 4, module => mongoose_component_listener,
          password => "secret-component-password-64", port => 8888, proto => tcp},
        #{connection_type => undefined,
          handlers =>
              [#{host => '_', module => mod_bosh, path => "/http-bind"},
               #{host => '_', module => mod_websockets, path => "/ws-xmpp"},
               #{host => '_', module => mongoose_client_api, path => "/api"},
               #{host => "localhost", module => mongoose_admin_api, path => "/api/admin"},
               #{host => '_', module => mongoose_graphql_handler, path => "/api/graphql",
                 schema_endpoint => admin, username => "secret-gql-admin-64",
                 password => "secret-gql-password-64"}],
          ip_address => "203.0.113.64", ip_tuple => {203, 0, 113, 64}, ip_version => 4,
          module => ejabberd_cowboy, port => 5280, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 1024, num_acceptors => 10}}],
   outgoing_pools =>
       [#{type => rdbms, scope => global, tag => default, opts => #{workers => 10},
          conn_opts => #{driver => pgsql, host => "db-secret-64.internal", database => "mim64",
                         username => "mim", password => "secret-password-64"}},
        #{type => cassandra, scope => global, tag => default, opts => #{workers => 20},
          conn_opts => #{servers => [#{host => "cassandra-secret-64.internal", port => 9042}],
                         keyspace => mongooseim}}],
   services => #{service_mongoose_system_metrics =>
                     #{initial_report => 300000, periodic_report => 10800000, report => true}}}}.

{modules,
 [{<<"secret-host-64.example.net">>,
   [#{mod_bosh => #{backend => mnesia, inactivity => 30},
      mod_disco => #{iqdisc => one_queue},
      mod_inbox => #{backend => rdbms, reset_markers => [displayed]},
      mod_mam => #{backend => rdbms, pm => #{}},
      mod_muc_light => #{backend => rdbms, host => {prefix, <<"muclight.">>}},
      mod_roster => #{backend => mnesia, iqdisc => one_queue},
      mod_stream_management => #{backend => mnesia, buffer_max => 100},
      mod_ping => #{send_pings => false},
      mod_presence => #{}}]},
  {<<"secret tenant 64">>,
   [#{mod_disco => #{iqdisc => one_queue},
      mod_muc => #{backend => mnesia, online_backend => cets, host => {prefix, <<"muc.">>}},
      mod_offline => #{backend => rdbms},
      mod_roster => #{backend => rdbms, iqdisc => one_queue},
      mod_stream_management => #{backend => cets},
      mod_presence => #{}}]}]}.

{domains, [{<<"tenant-a.secret-64.example.org">>, <<"secret tenant 64">>},
           {<<"tenant-b.secret-64.example.org">>, <<"secret tenant 64">>},
           {<<"tenant-c.secret-64.example.org">>, <<"secret tenant 64">>}]}.

{components, [{<<"bot-a.secret-64.example.net">>, local},
              {<<"bot-b.secret-64.example.net">>, local}]}.

{stanzas, [{xmppMessageSent, 640}, {xmppMessageReceived, 1281}, {xmppIqSent, 64},
           {xmppIqReceived, 65}, {xmppPresenceSent, 6}, {xmppPresenceReceived, 13}]}.
