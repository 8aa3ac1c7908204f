%% Stand-in for mongoose_router (5.1+): the domains that have a route on this node.
-module(mongoose_router).

-export([get_all_domains/0]).

get_all_domains() ->
    ets:select(mongoose_domain_core, [{{'$1', '_', '_'}, [], ['$1']}]).
