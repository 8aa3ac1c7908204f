%% Stand-in for ejabberd_router of MongooseIM 5.1-6.1, which still owns the component registry.
%% Records: {external_component, Domain, Handler, Node, IsHidden}.
-module(ejabberd_router).

-export([dirty_get_all_components/1, lookup_component/1, lookup_component/2]).

%% all | only_public: the domains of every registered component, cluster-wide.
dirty_get_all_components(all) ->
    lists:usort([element(2, C) || C <- ets:tab2list(external_component)]);
dirty_get_all_components(only_public) ->
    lists:usort([D || {external_component, D, _, _, false} <- ets:tab2list(external_component)]).

lookup_component(Domain) ->
    ets:lookup(external_component, Domain).

lookup_component(Domain, Node) ->
    [C || {external_component, _, _, N, _} = C <- lookup_component(Domain), N =:= Node].
