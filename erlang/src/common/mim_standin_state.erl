%% Owner of the stand-in's data: it builds, from the profile, the storage that MongooseIM's own
%% functions read on a real node of the profile's generation, and keeps the ets tables alive.
%%
%%   4.x      ets config / local_config ({config,K,V} / {local_config,K,V}), ets ejabberd_modules
%%            ({ejabberd_module, {Mod, Host}, Opts})
%%   5.1-6.1  persistent_term {mongoose_config, Key} per top-level key
%%   6.2+     persistent_term mongoose_config => the whole config map
%%   5.1+     ets mongoose_domain_core (one row per domain)
%%   all      cluster id: ets mongoose_cluster_id ({mongoose_cluster_id, cluster_id, Id}, the mnesia
%%            record) or, 6.2+ with internal_databases.cets, ets cets_cluster_id ({cluster_id, Id});
%%            ets external_component (component records of the era); metric tables
-module(mim_standin_state).
-behaviour(gen_server).

-export([start_link/0, service_running/1, cluster_id/0, set_cluster_id/1,
         add_member/1, members/0, register_components/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(REMOTE_NODE, 'mongooseim@secret-peer-node-3').

start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% Whether the profile's node runs service_mongoose_system_metrics: configured and not report=false,
%% unless the profile forces it with {service_running, Bool}.
service_running(#{service_running := Forced}) when is_boolean(Forced) -> Forced;
service_running(#{api := {4, _}, local := Local}) ->
    case lists:keyfind(service_mongoose_system_metrics, 1, proplists:get_value(services, Local, [])) of
        false -> false;
        {_, Opts} -> not (lists:member(no_report, Opts) orelse
                          proplists:get_value(report, Opts) =:= false)
    end;
service_running(#{config := #{services := Services}}) ->
    case maps:find(service_mongoose_system_metrics, Services) of
        error -> false;
        {ok, Opts} -> maps:get(report, Opts, undefined) =/= false
    end;
service_running(_) -> false.

cluster_id() ->
    case cluster_id_table() of
        {cets_cluster_id, _} ->
            case ets:lookup(cets_cluster_id, cluster_id) of
                [{cluster_id, Id}] -> Id;
                [] -> none
            end;
        {mongoose_cluster_id, _} ->
            case ets:lookup(mongoose_cluster_id, cluster_id) of
                [{mongoose_cluster_id, cluster_id, Id}] -> Id;
                [] -> none
            end
    end.

set_cluster_id(Id) -> gen_server:call(?MODULE, {set_cluster_id, Id}).

add_member(Node) -> gen_server:call(?MODULE, {add_member, Node}).

%% Components carry the node name, so they are registered once distribution is up.
register_components() -> gen_server:call(?MODULE, register_components).

members() -> [N || {N} <- ets:tab2list(mim_standin_members)].

%% ---------------------------------------------------------------------------------------------

init([]) ->
    P = mim_standin:profile(),
    Api = maps:get(api, P),
    setup_config(Api, P),
    setup_domains(Api, P),
    ets:new(mim_standin_members, [named_table, public, set]),
    {Table, KeyPos} = cluster_id_table(),
    ets:new(Table, [named_table, public, set, {keypos, KeyPos}]),
    do_set_cluster_id(maps:get(cluster_id, P)),
    ets:new(external_component, [named_table, public, bag, {keypos, 2}]),
    mim_standin_metrics:setup(P),
    check_modules(P),
    {ok, #{}}.

handle_call({set_cluster_id, Id}, _From, S) ->
    {reply, do_set_cluster_id(Id), S};
handle_call(register_components, _From, S) ->
    P = mim_standin:profile(),
    {reply, setup_components(maps:get(api, P), P), S};
handle_call({add_member, Node}, _From, S) ->
    ets:insert(mim_standin_members, {Node}),
    {reply, ok, S}.

handle_cast(_Msg, S) -> {noreply, S}.

handle_info(_Msg, S) -> {noreply, S}.

%% ---------------------------------------------------------------------------------------------

setup_config({4, _}, #{global := Global, local := Local, modules := Modules}) ->
    ets:new(config, [named_table, public, set, {keypos, 2}]),
    ets:new(local_config, [named_table, public, set, {keypos, 2}]),
    ets:new(ejabberd_modules, [named_table, public, set, {keypos, 2}]),
    ets:insert(config, [{config, K, V} || {K, V} <- Global]),
    ets:insert(local_config, [{local_config, K, V} || {K, V} <- Local]),
    ets:insert(local_config, [{local_config, {modules, H}, Ms} || {H, Ms} <- Modules]),
    ets:insert(ejabberd_modules, [{ejabberd_module, {M, H}, Opts}
                                  || {H, Ms} <- Modules, {M, Opts} <- Ms]);
setup_config({5, _}, #{config := C}) -> put_per_key(C);
setup_config({6, N}, #{config := C}) when N =< 1 -> put_per_key(C);
setup_config({6, _}, #{config := C}) -> persistent_term:put(mongoose_config, C).

put_per_key(Config) ->
    maps:foreach(fun(K, V) -> persistent_term:put({mongoose_config, K}, V) end, Config).

setup_domains({4, _}, _P) -> ok;
setup_domains(_Api, #{config := C, domains := Dynamic}) ->
    ets:new(mongoose_domain_core, [named_table, public, set]),
    ets:insert(mongoose_domain_core, [{H, H, static} || H <- maps:get(hosts, C)]),
    ets:insert(mongoose_domain_core, [{D, HT, dynamic} || {D, HT} <- Dynamic]).

cluster_id_table() ->
    P = mim_standin:profile(),
    case {maps:get(api, P), maps:get(config, P, #{})} of
        {{6, N}, #{internal_databases := #{cets := _}}} when N >= 2 -> {cets_cluster_id, 1};
        _ -> {mongoose_cluster_id, 2}
    end.

do_set_cluster_id(none) -> ok;
do_set_cluster_id(Id) when is_binary(Id) ->
    case cluster_id_table() of
        {cets_cluster_id, _} -> ets:insert(cets_cluster_id, {cluster_id, Id});
        {mongoose_cluster_id, _} -> ets:insert(mongoose_cluster_id, {mongoose_cluster_id, cluster_id, Id})
    end,
    ok.

%% external_component records: 3.x-6.3 {external_component, Domain, Handler, Node, IsHidden},
%% 6.4+ {external_component, Domain, Node, IsSubdomain, IsHidden, Handler}.
setup_components(Api, #{components := Components}) ->
    Handler = {packet_handler, ejabberd_service, #{pid => self()}},
    [ets:insert(external_component, component(Api, D, where(W), Handler)) || {D, W} <- Components],
    ok.

where(local) -> node();
where(remote) -> ?REMOTE_NODE;
where({remote, Node}) -> Node.

component({6, N}, Domain, Node, Handler) when N >= 4 ->
    {external_component, Domain, Node, false, false, Handler};
component(_Api, Domain, Node, Handler) ->
    {external_component, Domain, Handler, Node, false}.

%% Every configured module must be a real, loadable module of this generation's code path.
check_modules(P) ->
    [case code:ensure_loaded(M) of
         {module, M} -> ok;
         _ -> error({module_not_on_code_path, M, maps:get(name, P)})
     end || {_HT, Ms} <- mim_standin_profile:modules(P), M <- Ms],
    ok.
