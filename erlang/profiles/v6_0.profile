%% v6_0: a MongooseIM 6.0.0 node (the last Universal-Analytics release: collect/1 returns UA
%% structs; mongoose_config with one persistent term per key; ejabberd_c2s; components in
%% ejabberd_router). Exercises:
%%  - no HTTP listener: no http_api struct at all (3.6-6.0 send nothing for an empty item), and
%%    transport only tcp;
%%  - the 6.0 allow-list (mongoose_client_api, mongoose_admin_api, mod_bosh, mod_websockets) is
%%    configurable-but-unused: its handler modules are loaded at boot by the config spec anyway;
%%  - TLS as a map with mode and module (tls + just_tls), one UA struct per pair;
%%  - mod_mam (6.0's name for mod_mam_meta) and mod_muc reporting only backend (online_backend
%%    only from 6.2); mod_ping and mod_cache_users custom;
%%  - the service configured with report = true.
{version, "6.0.0"}.
{cluster_id, <<"60606060-6060-4060-8060-5ec2e7420060">>}.
{config_path, "/opt/secret-install-60/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-60.example.net">>],
   host_types => [],
   all_metrics_are_global => false,
   listen =>
       [#{access => c2s, backlog => 1024, hibernate_after => 0,
          ip_address => "192.0.2.60", ip_tuple => {192, 0, 2, 60}, ip_version => 4,
          max_stanza_size => 65536, module => ejabberd_c2s, num_acceptors => 100, port => 5223,
          proto => tcp, proxy_protocol => false, shaper => c2s_shaper,
          tls => #{certfile => "/opt/secret-install-60/priv/ssl/secret-cert-60.pem",
                   mode => tls, module => just_tls, verify_mode => none}},
        #{access => all, hidden_components => false, ip_address => "127.0.0.1",
          ip_tuple => {127, 0, 0, 1}, ip_version => 4, module => ejabberd_service,
          password => "secret-component-password-60", port => 8888, proto => tcp}],
   outgoing_pools =>
       [#{type => rdbms, scope => global, tag => default, opts => #{workers => 10},
          conn_opts => #{driver => pgsql, host => "db-secret-60.internal", database => "mim60",
                         username => "mim", password => "secret-password-60"}}],
   services => #{service_mongoose_system_metrics =>
                     #{initial_report => 300000, periodic_report => 10800000, report => true}}}}.

{modules,
 [{<<"secret-host-60.example.net">>,
   [#{mod_disco => #{iqdisc => one_queue, users_can_see_hidden_services => false},
      mod_mam => #{backend => rdbms, pm => #{}},
      mod_muc => #{backend => rdbms, online_backend => mnesia, host => {prefix, <<"muc.">>}},
      mod_offline => #{backend => rdbms},
      mod_roster => #{backend => rdbms, iqdisc => one_queue},
      mod_carboncopy => #{iqdisc => no_queue},
      mod_ping => #{send_pings => false},
      mod_cache_users => #{strategy => fifo}}]}]}.

{components, [{<<"bot.secret-60.example.net">>, local},
              {<<"gw.secret-60.example.net">>, local},
              {<<"remote.secret-60.example.net">>, remote}]}.

{stanzas, [{xmppMessageSent, 600}, {xmppMessageReceived, 1200}, {xmppIqSent, 6000},
           {xmppIqReceived, 5999}, {xmppPresenceSent, 60}, {xmppPresenceReceived, 120}]}.
