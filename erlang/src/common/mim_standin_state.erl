%% Owner of the stand-in's data: it builds, from the profile, the storage that MongooseIM's own
%% functions read on a real node of the profile's release, and keeps the ets tables alive.
%%
%%   3.6-5.0  ets config / local_config ({config,K,V} / {local_config,K,V}), ets ejabberd_modules
%%            ({ejabberd_module, {Mod, Host}, Opts}), ets mongoose_services ({Service, Opts}),
%%            ets route ({route, Domain, Handler}) -- mnesia ram tables on a real node, which are
%%            ets tables of the same names
%%   5.1-6.1  persistent_term {mongoose_config, Key} per top-level key
%%   6.2+     persistent_term mongoose_config => the whole config map
%%   5.0+     ets mongoose_domain_core ({Domain, HostType, config | {dynamic, Pid}})
%%   5.1+     ets mongoose_router (explicitly registered routes; none)
%%   all      cluster id: ets mongoose_cluster_id ({mongoose_cluster_id, cluster_id, Id}, the mnesia
%%            record) or, 6.2+ with internal_databases.cets, ets cets_cluster_id ({cluster_id, Id});
%%            components (below); metric tables (mim_standin_metrics)
%%   components: up to 6.1 external_component_global ({external_component, Domain, Handler, Node,
%%            Hidden}) and the node-local external_component keyed by {Domain, Node}; from 6.2 one
%%            bag external_component with the record of the release
-module(mim_standin_state).
-behaviour(gen_server).

-export([start_link/0, cluster_id/0, set_cluster_id/1,
         add_member/1, members/0, register_components/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(REMOTE_NODE, 'mongooseim@secret-peer-node-3').

start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

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
    case mim_standin_profile:old_config(P) of
        true -> setup_old_config(P);
        false -> setup_config(P)
    end,
    setup_domains(P),
    ets:new(mim_standin_members, [named_table, public, set]),
    {Table, KeyPos} = cluster_id_table(),
    ets:new(Table, [named_table, public, set, {keypos, KeyPos}]),
    do_set_cluster_id(maps:get(cluster_id, P)),
    case maps:get(api, P) < {6, 2, 0} of
        true ->
            ets:new(external_component_global, [named_table, public, set, {keypos, 2}]),
            ets:new(external_component, [named_table, public, set, {keypos, 2}]);
        false ->
            ets:new(external_component, [named_table, public, bag, {keypos, 2}])
    end,
    mim_standin_metrics:setup(P),
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

setup_old_config(#{global := Global, local := Local, modules := Modules}) ->
    [ets:new(T, [named_table, public, set, {keypos, 2}])
     || T <- [config, local_config, ejabberd_modules, route]],
    ets:new(mongoose_services, [named_table, public, set]),
    ets:insert(config, [{config, K, V} || {K, V} <- Global]),
    ets:insert(local_config, [{local_config, K, V} || {K, V} <- Local]),
    ets:insert(local_config, [{local_config, {modules, H}, Ms} || {H, Ms} <- Modules]),
    ets:insert(ejabberd_modules, [{ejabberd_module, {M, H}, Opts}
                                  || {H, Ms} <- Modules, {M, Opts} <- Ms]),
    ets:insert(mongoose_services, [{S, proplists:unfold(Opts)}
                                   || {S, Opts} <- proplists:get_value(services, Local, [])]),
    %% ejabberd_local registers a route for each of the node's hosts.
    ets:insert(route, [{route, H, {packet_handler, ejabberd_local, undefined}}
                       || H <- proplists:get_value(hosts, Global, [])]).

setup_config(#{api := V, config := C}) when V < {6, 2, 0} ->
    maps:foreach(fun(K, Value) -> persistent_term:put({mongoose_config, K}, Value) end, C);
setup_config(#{config := C}) ->
    persistent_term:put(mongoose_config, C).

setup_domains(#{api := V}) when V < {5, 0, 0} ->
    ok;
setup_domains(#{domains := Dynamic} = P) ->
    ets:new(mongoose_domain_core, [named_table, public, set]),
    Hosts = case mim_standin_profile:old_config(P) of
                true -> proplists:get_value(hosts, maps:get(global, P), []);
                false -> maps:get(hosts, maps:get(config, P))
            end,
    ets:insert(mongoose_domain_core, [{H, H, config} || H <- Hosts]),
    ets:insert(mongoose_domain_core, [{D, HT, {dynamic, self()}} || {D, HT} <- Dynamic]),
    case mim_standin_profile:old_config(P) of
        true -> ok;
        false -> ets:new(mongoose_router, [named_table, public, set])
    end.

cluster_id_table() ->
    P = mim_standin:profile(),
    case {maps:get(api, P), maps:get(config, P, #{})} of
        {V, #{internal_databases := #{cets := _}}} when V >= {6, 2, 0} -> {cets_cluster_id, 1};
        _ -> {mongoose_cluster_id, 2}
    end.

do_set_cluster_id(none) -> ok;
do_set_cluster_id(Id) when is_binary(Id) ->
    case cluster_id_table() of
        {cets_cluster_id, _} -> ets:insert(cets_cluster_id, {cluster_id, Id});
        {mongoose_cluster_id, _} -> ets:insert(mongoose_cluster_id, {mongoose_cluster_id, cluster_id, Id})
    end,
    ok.

setup_components(V, #{components := Components}) ->
    Handler = {packet_handler, ejabberd_service, #{pid => self()}},
    [register_component(V, D, where(W), Handler) || {D, W} <- Components],
    ok.

where(local) -> node();
where(remote) -> ?REMOTE_NODE;
where({remote, Node}) -> Node.

%% external_component records: 3.x-6.3 {external_component, Domain, Handler, Node, IsHidden},
%% 6.4+ {external_component, Domain, Node, IsSubdomain, IsHidden, Handler}.
register_component(V, Domain, Node, Handler) when V < {6, 2, 0} ->
    ets:insert(external_component_global, {external_component, Domain, Handler, Node, false}),
    %% Each node keeps only its own in its local table.
    [ets:insert(external_component, {external_component, {Domain, Node}, Handler, Node, false})
     || Node =:= node()];
register_component(V, Domain, Node, Handler) when V < {6, 4, 0} ->
    ets:insert(external_component, {external_component, Domain, Handler, Node, false});
register_component(_V, Domain, Node, Handler) ->
    ets:insert(external_component, {external_component, Domain, Node, false, false, Handler}).
