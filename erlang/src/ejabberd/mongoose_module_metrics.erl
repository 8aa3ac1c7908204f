%% Stand-in for the mongoose_module_metrics behaviour of MongooseIM 3.6-5.0. opts_for_module/3
%% takes {Key, Default} pairs (the caller supplies the defaults) and, on any exception, returns
%% the bare tuple {none, none} -- not a list (fixed in 5.1; see erlang/README.md). It reads the
%% options with gen_mod:opts_for_module/2 up to 4.2 and gen_mod:get_module_opts/2 in 5.0
%% (4.2.0/5.0.0:src/system_metrics/mongoose_module_metrics.erl).
-module(mongoose_module_metrics).

-export([opts_for_module/3]).

-callback config_metrics(Host :: binary()) -> any().
-optional_callbacks([config_metrics/1]).

opts_for_module(Host, Module, OptsToReport) ->
    try
        Opts = module_opts(Host, Module),
        lists:map(fun({Key, Default}) -> {Key, proplists:get_value(Key, Opts, Default)} end,
                  OptsToReport)
    catch _:_ ->
        {none, none}
    end.

-ifdef(HOST_TYPES).
module_opts(HostType, Module) -> gen_mod:get_module_opts(HostType, Module).
-else.
module_opts(Host, Module) -> gen_mod:opts_for_module(Host, Module).
-endif.
