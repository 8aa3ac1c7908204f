%% Stand-in for ejabberd_router of MongooseIM 6.2-6.6: it still routes, but the component
%% registry moved to mongoose_component, so lookup_component/2 is no longer here
%% (6.2.0:src/ejabberd_router.erl). 6.7 removed the module altogether. The stand-in routes nothing.
-module(ejabberd_router).

-export([route/3]).

route(_From, _To, _Packet) ->
    drop.
