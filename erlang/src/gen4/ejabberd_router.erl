%% Stand-in for ejabberd_router of MongooseIM 4.x. Components are external_component records
%% {external_component, Domain, Handler, Node, IsHidden} (ets external_component, keyed by domain).
-module(ejabberd_router).

-export([dirty_get_all_routes/0, dirty_get_all_domains/0, lookup_component/1, lookup_component/2]).

dirty_get_all_routes() ->
    ejabberd_config:get_global_option_or_default(hosts, []).

%% Route domains plus the domains of all registered components.
dirty_get_all_domains() ->
    lists:usort(dirty_get_all_routes() ++ [element(2, C) || C <- ets:tab2list(external_component)]).

lookup_component(Domain) ->
    ets:lookup(external_component, Domain).

lookup_component(Domain, Node) ->
    [C || {external_component, _, _, N, _} = C <- lookup_component(Domain), N =:= Node].
