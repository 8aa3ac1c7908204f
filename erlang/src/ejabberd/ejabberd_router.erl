%% Stand-in for ejabberd_router of MongooseIM 3.6-5.0 (3.6.0/5.0.0:src/ejabberd_router.erl).
%% Routes: the mnesia table `route' (here an ets table of that name, keyed by domain). Components
%% are registered twice: in external_component_global as {external_component, Domain, Handler,
%% Node, IsHidden}, and in the node-local external_component keyed by {Domain, Node}, so
%% lookup_component/2 returns records whose domain field is {Domain, Node}.
-module(ejabberd_router).

-export([dirty_get_all_routes/0, dirty_get_all_domains/0, dirty_get_all_routes/1,
         dirty_get_all_domains/1, lookup_component/1, lookup_component/2]).

dirty_get_all_routes() ->
    dirty_get_all_routes(all).

dirty_get_all_domains() ->
    dirty_get_all_domains(all).

%% Route domains other than the node's own hosts.
dirty_get_all_routes(ReturnHidden) ->
    lists:usort(all_routes(ReturnHidden)) -- ejabberd_config:get_global_option(hosts).

dirty_get_all_domains(ReturnHidden) ->
    lists:usort(all_routes(ReturnHidden)).

lookup_component(Domain) ->
    ets:lookup(external_component_global, Domain).

lookup_component(Domain, Node) ->
    ets:lookup(external_component, {Domain, Node}).

all_routes(all) ->
    keys(route) ++ keys(external_component_global);
all_routes(only_public) ->
    keys(route) ++ [D || {external_component, D, _, _, false}
                             <- ets:tab2list(external_component_global)].

keys(Tab) -> [element(2, R) || R <- ets:tab2list(Tab)].
