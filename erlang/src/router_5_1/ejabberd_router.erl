%% Stand-in for ejabberd_router of MongooseIM 5.1-6.1, which still owns the component registry
%% (5.1.0/6.1.0:src/ejabberd_router.erl). As before 5.1, a component is registered in
%% external_component_global ({external_component, Domain, Handler, Node, IsHidden}) and in the
%% node-local external_component keyed by {Domain, Node}.
-module(ejabberd_router).

-export([dirty_get_all_components/1, lookup_component/1, lookup_component/2]).

%% all | only_public: the domains of every registered component, cluster-wide.
dirty_get_all_components(all) ->
    [element(2, C) || C <- ets:tab2list(external_component_global)];
dirty_get_all_components(only_public) ->
    [D || {external_component, D, _, _, false} <- ets:tab2list(external_component_global)].

lookup_component(Domain) ->
    ets:lookup(external_component_global, Domain).

lookup_component(Domain, Node) ->
    ets:lookup(external_component, {Domain, Node}).
