%% Stand-in for the mongoose_module_metrics behaviour of MongooseIM 4.x. opts_for_module/3 takes
%% {Key, Default} pairs (the caller supplies defaults) and, on any exception, returns the bare
%% tuple {none, none} -- not a list (fixed in 5.1; see erlang/README.md).
-module(mongoose_module_metrics).

-export([opts_for_module/3]).

-callback config_metrics(Host :: binary()) -> [{atom(), term()}].

opts_for_module(Host, Module, OptsWithDefaults) ->
    try
        Opts = gen_mod:opts_for_module(Host, Module),
        lists:map(fun({Key, Default}) -> {Key, proplists:get_value(Key, Opts, Default)} end,
                  OptsWithDefaults)
    catch _:_ ->
        {none, none}
    end.
