%% Stand-in for mongoose_router (5.1+): the ets table mongoose_router holds {LDomain, Handler} for
%% every explicitly registered route (5.1.0:src/mongoose_router.erl). Host domains are routed
%% through the domain core and are not in it: the observed 6.8.0 node answers [] here.
-module(mongoose_router).

-export([get_all_domains/0, lookup_route/1, is_registered_route/1]).

get_all_domains() ->
    ets:select(?MODULE, [{{'$1', '_'}, [], ['$1']}]).

lookup_route(LDomain) ->
    case ets:lookup(?MODULE, LDomain) of
        [] -> no_route;
        [{_, Handler}] -> Handler
    end.

is_registered_route(LDomain) ->
    ets:member(?MODULE, LDomain).
