%% The MongooseIM stand-in: boot, cluster membership, traffic and introspection.
%%
%% A stand-in node is started by erlang/launcher.py with only this layer (erlang/_build/ebin/common)
%% on its code path, in interactive code mode like a MongooseIM release (whose start script passes
%% -embedded, a plain user argument, not -mode embedded). boot/1 reads the profile, puts the code
%% layers of the profile's release on the path, pads the path with empty directories to a
%% release's length (a call into a missing module then searches as many directories as on a real
%% node), starts a real `mongooseim' application, loads exactly what a real node of that release
%% and configuration has loaded after booting (mim_standin_era:boot_modules/1), and only then
%% starts distribution: once the node is registered in EPMD and its ready file exists, everything
%% is in place. With {code_mode, embedded} every module of the layers is loaded instead.
-module(mim_standin).

-export([boot/1, profile/0, api/0, info/0, stop/0,
         boot_modules/0, code_server_reductions/0, call_cost/3,
         add_stanzas/2, stanza_totals/0,
         cluster_id/0, set_cluster_id/1, join/1, member_joined/1, members/0]).

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
    Layers = layer_dirs(mim_standin_era:layers(Profile)),
    add_paths(fun code:add_pathsa/1, fun code:add_pathsa/2, lists:reverse(Layers)),
    pad_code_path(maps:get(path_size, Profile)),
    %% Embedded mode loads nothing on demand: everything goes in before the application starts.
    [load_all(Layers) || maps:get(code_mode, Profile) =:= embedded],
    case maps:get(api, Profile) of
        not_mim -> ok;
        _ -> start_mongooseim(Profile)
    end,
    load_boot_modules(Profile, Layers),
    start_distribution(Opts),
    case maps:get(api, Profile) of
        not_mim -> ok;
        _ -> ok = mim_standin_state:register_components()
    end,
    case maps:get(join, Opts, []) of
        [] -> ok;
        Seeds ->
            lists:foreach(fun join/1, Seeds),
            persistent_term:put({?MODULE, boot_modules}, lists:usort([mongoose_cluster | boot_modules()]))
    end,
    ok = report_once_if_reported(Profile),
    case maps:get(ready_file, Opts, undefined) of
        undefined -> ok;
        File -> ok = file:write_file(File, atom_to_list(node()))
    end.

%% A node whose in-VM service "has reported" has run its collector once, like a real node
%% initial_report after its start: what that run leaves on the node (the stand-in's collector
%% code in memory, the atoms of the configured modules' attributes it decoded) is there too.
report_once_if_reported(#{api := not_mim}) ->
    ok;
report_once_if_reported(#{api := V} = P) ->
    case mim_standin_era:service_reported(P) of
        false -> ok;
        true ->
            C = mongoose_system_metrics_collector,
            B = mim_standin_era:stanza_backend(P),
            _ = if V < {3, 7, 0} -> C:collect();
                   V < {6, 4, 0} -> C:collect([]);
                   V < {6, 6, 0} -> C:collect([], B =:= exometer);
                   true -> C:collect([], B)
                end,
            ok
    end.

start_mongooseim(#{version := Vsn, config_path := ConfigPath} = P) ->
    %% Like a release's .app file: every module of the real release, not only those the
    %% stand-in has code for (MongooseIM's source at the release's tag, erlang/modules.json).
    Modules = lists:usort([M || D <- layer_dirs(mim_standin_era:release_layers(P)), M <- beams(D)]
                          ++ mim_standin_era:release_modules(maps:get(api, P))),
    App = {application, mongooseim,
           [{description, "MongooseIM"},
            {vsn, Vsn},
            {modules, Modules},
            {registered, []},
            {applications, [kernel, stdlib]},
            {mod, {mim_standin_app, []}},
            {env, [{config, ConfigPath}]}]},
    ok = application:load(App),
    ok = application:start(mongooseim).

%% Interactive mode (a release): exactly the boot set; embedded: everything on the layers.
load_boot_modules(#{code_mode := embedded}, Layers) ->
    persistent_term:put({?MODULE, boot_modules}, lists:usort([M || D <- Layers, M <- beams(D)]));
load_boot_modules(Profile, Layers) ->
    Boot = mim_standin_era:boot_modules(Profile),
    Available = [M || D <- Layers, M <- beams(D)],
    case Boot -- Available of
        [] -> ok;
        Missing -> error({module_not_on_code_path, Missing, maps:get(name, Profile)})
    end,
    ok = code:ensure_modules_loaded(Boot),
    %% Nothing of the release beyond the boot set may have been loaded by the stand-in itself.
    case [M || M <- Available, erlang:module_loaded(M), not lists:member(M, Boot)] of
        [] -> persistent_term:put({?MODULE, boot_modules}, Boot);
        Extra -> error({loaded_beyond_the_boot_set, Extra})
    end.

load_all(Layers) ->
    ok = code:ensure_modules_loaded([M || D <- Layers, M <- beams(D)]).

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

%% ---------------------------------------------------------------------------------------------
%% Code path

build_root() ->
    filename:dirname(filename:dirname(code:which(?MODULE))).

layer_dirs(Layers) ->
    Root = build_root(),
    [begin
         Dir = filename:join(Root, atom_to_list(L)),
         filelib:is_dir(Dir) orelse error({missing_code_layer, Dir}),
         Dir
     end || L <- Layers].

beams(Dir) ->
    [list_to_atom(filename:basename(F, ".beam")) || F <- filelib:wildcard(filename:join(Dir, "*.beam"))].

%% A release's code path has one ebin directory per application (86 on the 6.2.1 release, 87 on
%% 6.8.0): empty directories named like a release's applications make up the difference.
%% The launcher creates them (erlang/_build/filler/<app>-<vsn>/ebin) and lists them, in the order
%% a release lists its applications, in fillers.eterm.
pad_code_path(Size) ->
    {ok, [Apps]} = file:consult(filename:join(build_root(), "fillers.eterm")),
    Filler = filename:join(filename:dirname(build_root()), "filler"),
    Missing = max(0, Size - length(code:get_path())),
    Add = [filename:join([Filler, App, "ebin"]) || App <- lists:sublist(Apps, Missing)],
    add_paths(fun code:add_pathsz/1, fun code:add_pathsz/2, Add).

%% OTP 26+ caches the listing of code path directories (a release's are cached): so there, too,
%% the stand-in behaves as a release does.
add_paths(Plain, Cached, Arg) ->
    case erlang:function_exported(code, add_pathsa, 2) of
        true -> ok = Cached(Arg, cache);
        false -> ok = Plain(Arg)
    end.

%% ---------------------------------------------------------------------------------------------
%% Introspection (for tests; a real collector never calls these)

profile() -> persistent_term:get({?MODULE, profile}).

api() -> maps:get(api, profile()).

info() ->
    P = profile(),
    #{profile => maps:get(name, P), api => maps:get(api, P), version => maps:get(version, P, none),
      layers => mim_standin_era:layers(P), otp_release => erlang:system_info(otp_release),
      code_mode => code:get_mode(), path_size => length(code:get_path()),
      members => members(), service_running => is_pid(whereis(service_mongoose_system_metrics))}.

%% The MongooseIM modules loaded at boot (see mim_standin_era:boot_modules/1); [] for not_mim.
boot_modules() -> persistent_term:get({?MODULE, boot_modules}, []).

%% Work done by the code server so far: the reductions of code_server and of erl_prim_loader (the
%% process that reads the code path's directories for it). A call into a module that is not
%% loaded makes them grow (on OTP 25 by the cost of searching every directory of the path); a
%% call into a loaded module leaves them unchanged.
code_server_reductions() ->
    lists:sum([R || P <- [code_server, erl_prim_loader],
                    {reductions, R} <- [erlang:process_info(whereis(P), reductions)]]).

%% apply(M, F, A) on this node, with what it cost and what it loaded:
%% #{result => {ok, Value} | {Class, Reason}, code_server_reductions => integer(),
%%   vm_reductions => integer() (every process of the VM during the call),
%%   newly_loaded => [module()], micros => integer()}.
call_cost(M, F, A) ->
    Before = erlang:loaded(),
    R0 = code_server_reductions(),
    {V0, _} = erlang:statistics(exact_reductions),
    T0 = erlang:monotonic_time(microsecond),
    Result = try {ok, apply(M, F, A)}
             catch Class:Reason -> {Class, Reason}
             end,
    T1 = erlang:monotonic_time(microsecond),
    {V1, _} = erlang:statistics(exact_reductions),
    R1 = code_server_reductions(),
    #{result => Result, code_server_reductions => R1 - R0, vm_reductions => V1 - V0,
      micros => T1 - T0, newly_loaded => lists:sort(erlang:loaded() -- Before)}.

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
%% the seed (as mnesia/CETS replication would give it), and membership on both sides. On a real
%% node `mongooseimctl join_cluster' runs mongoose_cluster:join/1 there, so it is loaded.
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
    {module, mongoose_cluster} = code:ensure_loaded(mongoose_cluster),
    ok.

member_joined(Node) -> mim_standin_state:add_member(Node).

members() ->
    case whereis(mim_standin_state) of
        undefined -> [];
        _ -> mim_standin_state:members()
    end.
