%% v5_1: a MongooseIM 5.1.0 node (API generation 5.1-6.0: mongoose_config with one persistent
%% term per key and no get_opts/0, listener/pool maps, ejabberd_c2s, components in
%% ejabberd_router, UA-era collect/1). Close to shared/reference/observed-mim-5.1.0.txt: no
%% system-metrics service, no internal_databases key; plus an admin/client REST listener, one
%% rdbms pool and non-zero stanza counters.
{version, "5.1.0"}.
{cluster_id, <<"69fc3600-22d6-4e8e-8947-5ec2e7420051">>}.
{config_path, "/opt/secret-install-51/etc/mongooseim.toml"}.

{config,
 #{hosts => [<<"secret-host-51.example.org">>],
   host_types => [],
   all_metrics_are_global => false,
   sm_backend => mnesia,
   language => <<"en">>,
   listen =>
       [#{access => c2s, backlog => 100, hibernate_after => 0,
          ip_address => "192.0.2.51", ip_tuple => {192, 0, 2, 51}, ip_version => 4,
          max_stanza_size => 65536, module => ejabberd_c2s, num_acceptors => 100, port => 5242,
          proto => tcp, proxy_protocol => false, shaper => c2s_shaper,
          tls => #{certfile => "/opt/secret-install-51/priv/ssl/secret-cert-51.pem",
                   ciphers => "TLSv1.2:TLSv1.3", mode => starttls, module => fast_tls,
                   protocol_options => ["no_sslv2", "no_sslv3", "no_tlsv1", "no_tlsv1_1"],
                   verify_mode => none}},
        #{handlers =>
              [#{host => '_', module => mod_bosh, path => "/http-bind"},
               #{host => '_', max_stanza_size => infinity, module => mod_websockets,
                 path => "/ws-xmpp", timeout => 60000}],
          ip_address => "192.0.2.51", ip_tuple => {192, 0, 2, 51}, ip_version => 4,
          module => ejabberd_cowboy, port => 5300, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 1024, num_acceptors => 10}},
        #{handlers =>
              [#{host => "secret-host-51.example.org", module => mongoose_api_admin,
                 path => "/api"},
               #{host => '_', module => mongoose_client_api, path => "/api/contacts"}],
          ip_address => "127.0.0.1", ip_tuple => {127, 0, 0, 1}, ip_version => 4,
          module => ejabberd_cowboy, port => 8088, proto => tcp,
          protocol => #{compress => false},
          transport => #{max_connections => 64, num_acceptors => 2}}],
   outgoing_pools =>
       [#{type => rdbms, scope => global, tag => default, opts => #{workers => 5},
          conn_opts => #{driver => pgsql, host => "db-secret-51.internal", database => "mimdb",
                         username => "mimuser", password => "secret-password-51"}}],
   services => #{}}}.

{modules,
 [{<<"secret-host-51.example.org">>,
   [#{mod_bosh => #{backend => mnesia, inactivity => 30, max_wait => infinity},
      mod_disco => #{iqdisc => one_queue, users_can_see_hidden_services => false},
      mod_last => #{backend => mnesia, iqdisc => one_queue},
      mod_muc_light => #{backend => mnesia, host => {prefix, <<"muclight.">>}},
      mod_offline => #{backend => mnesia, access_max_user_messages => max_user_offline_messages},
      mod_ping => #{send_pings => false},
      mod_private => #{backend => mnesia, iqdisc => one_queue},
      mod_roster => #{backend => mnesia, iqdisc => one_queue, store_current_id => false,
                      versioning => false},
      mod_vcard => #{backend => mnesia, host => {prefix, <<"vjud.">>}, matches => 30}}]}]}.

{stanzas, [{xmppMessageSent, 17}, {xmppMessageReceived, 23}, {xmppIqSent, 41},
           {xmppIqReceived, 40}, {xmppPresenceSent, 9}, {xmppPresenceReceived, 11}]}.
