%% v6_1: a MongooseIM 6.1.0 node (GA4 events, new c2s: mongoose_c2s_listener; mongoose_config
%% still one persistent term per key, no get_opts/0; components still in ejabberd_router;
%% mod_muc reports only backend; collect/1). One static host and one host type (with a space, so
%% metric prefixes differ) with two dynamic domains; mod_event_pusher and mod_muc loaded on one
%% host type only (reported on both, with only `module' where not loaded); one local and one
%% remote component; the service configured without `report' (running) and with an extra
%% tracking id.
{version, "6.1.0"}.
{cluster_id, <<"0b61a0f2-6a1b-4a61-9e61-5ec2e7420061">>}.
{config_path, "/opt/secret-install-61/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-61.example.net">>],
   host_types => [<<"secret tenant 61">>],
   all_metrics_are_global => false,
   internal_databases => #{mnesia => #{}},
   listen =>
       [#{access => c2s, backlog => 1024, connection_type => undefined, hibernate_after => 0,
          ip_address => "192.0.2.61", ip_tuple => {192, 0, 2, 61}, ip_version => 4,
          max_connections => infinity, max_stanza_size => 65536,
          module => mongoose_c2s_listener, num_acceptors => 100, port => 5222, proto => tcp,
          proxy_protocol => false, shaper => c2s_shaper,
          tls => #{certfile => "/opt/secret-install-61/priv/ssl/secret-cert-61.pem",
                   mode => starttls_required, module => just_tls, verify_mode => peer}},
        #{access => all, connection_type => undefined, hidden_components => false,
          ip_address => "127.0.0.1", ip_tuple => {127, 0, 0, 1}, ip_version => 4,
          module => ejabberd_service, password => "secret-component-password-61", port => 8888,
          proto => tcp, shaper_rule => fast},
        #{connection_type => undefined,
          handlers =>
              [#{host => '_', module => mod_websockets, path => "/ws-xmpp", timeout => 60000},
               #{host => "secret-host-61.example.net", module => mongoose_client_api,
                 path => "/api"},
               #{host => "localhost", module => mongoose_admin_api, path => "/api/admin",
                 username => "secret-admin-61", password => "secret-admin-password-61"}],
          ip_address => "192.0.2.61", ip_tuple => {192, 0, 2, 61}, ip_version => 4,
          module => ejabberd_cowboy, port => 5280, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 1024, num_acceptors => 10}}],
   outgoing_pools =>
       [#{type => rdbms, scope => global, tag => default, opts => #{workers => 10},
          conn_opts => #{driver => pgsql, host => "db-secret-61.internal", database => "mim61",
                         username => "mim", password => "secret-password-61"}}],
   services =>
       #{service_mongoose_system_metrics =>
             #{initial_report => 300000, periodic_report => 10800000,
               tracking_id => #{id => "G-SECRET61XY", secret => "secret-api-secret-61"}}}}}.

{modules,
 [{<<"secret-host-61.example.net">>,
   [#{mod_disco => #{iqdisc => one_queue, users_can_see_hidden_services => false},
      mod_mam => #{backend => rdbms, pm => #{}, async_writer => #{enabled => true}},
      mod_muc => #{backend => mnesia, online_backend => mnesia, host => {prefix, <<"muc.">>}},
      mod_roster => #{backend => rdbms, iqdisc => one_queue},
      mod_ping => #{send_pings => true, ping_interval => 60000},
      mod_presence => #{}}]},
  {<<"secret tenant 61">>,
   [#{mod_mam => #{backend => rdbms, pm => #{}},
      mod_roster => #{backend => rdbms, iqdisc => one_queue},
      mod_presence => #{},
      mod_cache_users => #{strategy => fifo, number_of_segments => 3},
      mod_event_pusher => #{http => #{pool_name => secret_http_61, path => "/secret-hook"},
                            push => #{backend => mnesia, wpool => #{workers => 100}}}}]}]}.

{domains, [{<<"tenant-a.secret-61.example.org">>, <<"secret tenant 61">>},
           {<<"tenant-b.secret-61.example.org">>, <<"secret tenant 61">>}]}.

{components, [{<<"bot.secret-61.example.net">>, local},
              {<<"gateway.secret-61.example.net">>, remote}]}.

{stanzas, [{xmppMessageSent, 610}, {xmppMessageReceived, 1220}, {xmppIqSent, 333},
           {xmppIqReceived, 331}, {xmppPresenceSent, 77}, {xmppPresenceReceived, 154}]}.
