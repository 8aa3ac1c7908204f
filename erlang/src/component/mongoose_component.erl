%% Stand-in for mongoose_component (6.2+), the component registry that left ejabberd_router: one
%% bag table external_component keyed by domain (6.2.0:src/component/mongoose_component_mnesia.erl).
%% Records: 6.2-6.3 {external_component, Domain, Handler, Node, IsHidden};
%%          6.4+    {external_component, Domain, Node, IsSubdomain, IsHidden, Handler}
%% (include/external_component.hrl at each tag).
-module(mongoose_component).

-export([has_component/1, dirty_get_all_components/1, lookup_component/1, lookup_component/2]).

has_component(Domain) ->
    [] =/= lookup_component(Domain).

dirty_get_all_components(all) ->
    lists:usort([element(2, C) || C <- ets:tab2list(external_component)]);
dirty_get_all_components(only_public) ->
    lists:usort([element(2, C) || C <- ets:tab2list(external_component), not hidden(C)]).

lookup_component(Domain) ->
    ets:lookup(external_component, Domain).

lookup_component(Domain, Node) ->
    [C || C <- lookup_component(Domain), node_of(C) =:= Node].

node_of({external_component, _, Node, _, _, _}) -> Node;
node_of({external_component, _, _, Node, _}) -> Node.

hidden({external_component, _, _, _, IsHidden, _}) -> IsHidden;
hidden({external_component, _, _, _, IsHidden}) -> IsHidden.
