%% The MongooseIM stand-in: boot, cluster membership, traffic and introspection.
%%
%% A stand-in node is started by erlang/launcher.py with only this layer (erlang/_build/ebin/common)
%% on its code path, in embedded code mode like a MongooseIM release (not_mim: interactive).
%% boot/1 reads the profile, adds and loads exactly the code layers of the profile's API
%% generation (so capability probes see what a real node of that era has), starts a real
%% `mongooseim' application, and only then starts distribution: once the node is registered in
%% EPMD and its ready file exists, everything is in place.
-module(mim_standin).

-export([boot/1, layers/1, api/0, profile/0, info/0,
         add_stanzas/2, stanza_totals/0,
         cluster_id/0, set_cluster_id/1, join/1, member_joined/1, members/0,
         stop/0]).

-type api() :: {non_neg_integer(), non_neg_integer()} | not_mim.
-export_type([api/0]).

%% ---------------------------------------------------------------------------------------------
%% Boot

%% Opts: #{profile := Path, profile_name => string(), name := node(), cookie := atom(),
%%         ready_file => Path, join => [node()], overrides => map()}
boot(Opts) ->
    try
        do_boot(Opts)
    catch Class:Reason:Stack ->
        %% The stack first, the one-line reason last: the launcher shows the log's tail.
        io:format(standard_error, "~p~nmim_standin: boot failed: ~p:~0tP~n",
                  [Stack, Class, Reason, 40]),
        erlang:halt(3)
    end.

do_boot(#{profile := Path} = Opts) ->
    Profile = mim_standin_profile:load(Path, maps:get(overrides, Opts, #{}),
                                       maps:get(profile_name, Opts, undefined)),
    persistent_term:put({?MODULE, profile}, Profile),
    Api = maps:get(api, Profile),
    Paths = layer_paths(Api),
    ok = code:add_pathsa(Paths),
    %% Like a release: every module of the node's generation is loaded at start (in embedded
    %% mode nothing is loaded on demand later).
    ok = code:ensure_modules_loaded([list_to_atom(filename:basename(F, ".beam"))
                                     || D <- Paths, F <- filelib:wildcard(filename:join(D, "*.beam"))]),
    case Api of
        not_mim -> ok;
        _ -> start_mongooseim(Profile)
    end,
    start_distribution(Opts),
    case Api of
        not_mim -> ok;
        _ -> ok = mim_standin_state:register_components()
    end,
    lists:foreach(fun join/1, maps:get(join, Opts, [])),
    case maps:get(ready_file, Opts, undefined) of
        undefined -> ok;
        File -> ok = file:write_file(File, atom_to_list(node()))
    end.

start_mongooseim(#{version := Vsn, config_path := ConfigPath}) ->
    App = {application, mongooseim,
           [{description, "MongooseIM"},
            {vsn, Vsn},
            {modules, []},
            {registered, []},
            {applications, [kernel, stdlib]},
            {mod, {mim_standin_app, []}},
            {env, [{config, ConfigPath}]}]},
    ok = application:load(App),
    ok = application:start(mongooseim).

start_distribution(#{name := Name} = Opts) ->
    [_, Host] = string:split(atom_to_list(Name), "@"),
    Domain = case lists:member($., Host) of
                 true -> longnames;
                 false -> shortnames
             end,
    {ok, _} = net_kernel:start(Name, #{name_domain => Domain}),
    case maps:get(cookie, Opts, undefined) of
        undefined -> ok;
        Cookie -> true = erlang:set_cookie(node(), Cookie)
    end.

%% The code layers (directories under erlang/_build/ebin) of each API generation. Every module
%% name appears in at most one layer of a list, so the code path has exactly one version of it.
-spec layers(api()) -> [atom()].
layers(not_mim) -> [];
layers({4, _}) -> [mim, gen4, collect_ua, mods_4, custom];
layers({5, _}) -> [mim, gen5, config_keys, router_ejabberd, collect_ua, mods_5_1, custom];
layers({6, 0}) -> [mim, gen5, config_keys, router_ejabberd, collect_ua, mods_6_0, custom];
layers({6, 1}) -> [mim, gen5, config_keys, router_ejabberd, c2s_listener, collect_ga4, mods_6_0,
                   custom];
layers({6, 2}) -> [mim, gen5, config_map, component, c2s_listener, collect_ga4, mods_6_2, custom];
layers({6, 3}) -> [mim, gen5, config_map, component, c2s_listener, instrument, collect_ga4,
                   mods_6_2, custom];
layers({6, N}) when N =< 5 -> [mim, gen5, config_map, component, c2s_listener, instrument,
                               collect2, mods_6_2, custom];
layers({6, _}) -> [mim, gen5, config_map, component, c2s_listener, instrument, collect2, mods_6_6,
                   custom].

layer_paths(Api) ->
    Root = filename:dirname(filename:dirname(code:which(?MODULE))),
    [begin
         Dir = filename:join(Root, atom_to_list(L)),
         filelib:is_dir(Dir) orelse error({missing_code_layer, Dir}),
         Dir
     end || L <- layers(Api)].

%% ---------------------------------------------------------------------------------------------
%% Introspection (for tests; a real collector never calls these)

profile() -> persistent_term:get({?MODULE, profile}).

-spec api() -> api().
api() -> maps:get(api, profile()).

info() ->
    P = profile(),
    #{profile => maps:get(name, P), api => maps:get(api, P), version => maps:get(version, P, none),
      layers => layers(maps:get(api, P)), otp_release => erlang:system_info(otp_release),
      members => members(), service_running => is_pid(whereis(service_mongoose_system_metrics))}.

stop() ->
    spawn(fun() -> timer:sleep(50), init:stop() end),
    ok.

%% ---------------------------------------------------------------------------------------------
%% Traffic

%% Type: xmppMessageSent | xmppMessageReceived | xmppIqSent | xmppIqReceived | xmppPresenceSent |
%% xmppPresenceReceived | all. Bumps every live metric backend of this node by N.
add_stanzas(Type, N) when is_integer(N) ->
    mim_standin_metrics:add(Type, N).

%% The totals the node's own collector would read now, per stanza type.
stanza_totals() ->
    mim_standin_baseline:stanza_totals().

%% ---------------------------------------------------------------------------------------------
%% Cluster

cluster_id() -> mim_standin_state:cluster_id().

set_cluster_id(Id) -> mim_standin_state:set_cluster_id(Id).

%% Join the cluster of Seed: a visible connection (so nodes() lists each other), the cluster id of
%% the seed (as mnesia/CETS replication would give it), and membership on both sides.
join(Seed) ->
    true = net_kernel:connect_node(Seed),
    case rpc:call(Seed, ?MODULE, cluster_id, []) of
        {badrpc, _} = Err -> error({join_failed, Seed, Err});
        Id -> set_cluster_id(Id)
    end,
    Others = rpc:call(Seed, ?MODULE, members, []),
    [begin
         true = net_kernel:connect_node(N),
         ok = rpc:call(N, ?MODULE, member_joined, [node()]),
         mim_standin_state:add_member(N)
     end || N <- lists:usort([Seed | Others]) -- [node()]],
    ok.

member_joined(Node) -> mim_standin_state:add_member(Node).

members() ->
    case whereis(mim_standin_state) of
        undefined -> [];
        _ -> mim_standin_state:members()
    end.
