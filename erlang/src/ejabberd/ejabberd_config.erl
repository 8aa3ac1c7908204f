%% Stand-in for ejabberd_config of MongooseIM 3.6-5.0 (before mongoose_config existed).
%% Global options: ets config with {config, Key, Value}; per-node options: ets local_config with
%% {local_config, Key, Value} (on a real node these are mnesia ram tables, i.e. ets tables of the
%% same names). Missing options read as `undefined'.
%%
%% Compiled three times (erlang/launcher.py LAYER_VARIANTS) for the export lists of each release:
%%   ejabberd_3_6    3.6.0-4.0.0: no get_config_path/0 (4.0.0 defines it but does not export it)
%%   ejabberd_4_0_1  4.0.1-4.2.0: + get_config_path/0 (-DCONFIG_PATH)
%%   ejabberd_5_0    5.0.x: + get_global_option_or_default/2 (-DHOST_TYPES)
%% (3.6.0/4.0.1/5.0.0:src/ejabberd_config.erl, the -export lists)
-module(ejabberd_config).

-export([get_global_option/1, add_global_option/2,
         get_local_option/1, get_local_option/2, get_local_option_or_default/2,
         add_local_option/2, del_local_option/1]).
-ifdef(CONFIG_PATH).
-export([get_config_path/0]).
-endif.
-ifdef(HOST_TYPES).
-export([get_global_option_or_default/2]).
-endif.

get_global_option(Key) ->
    case ets:lookup(config, Key) of
        [{config, _, V}] -> V;
        _ -> undefined
    end.

add_global_option(Key, Value) ->
    ets:insert(config, {config, Key, Value}),
    {atomic, ok}.

get_local_option(Key) ->
    case ets:lookup(local_config, Key) of
        [{local_config, _, V}] -> V;
        _ -> undefined
    end.

%% The per-host value, else the global one.
get_local_option(Key, Host) ->
    case get_local_option({Key, Host}) of
        undefined -> get_global_option(Key);
        V -> V
    end.

get_local_option_or_default(Key, Default) ->
    case get_local_option(Key) of
        undefined -> Default;
        V -> V
    end.

add_local_option(Key, Value) ->
    ets:insert(local_config, {local_config, Key, Value}),
    {atomic, ok}.

del_local_option(Key) ->
    ets:delete(local_config, Key),
    {atomic, ok}.

-ifdef(CONFIG_PATH).
%% A charlist: the `config' env of the mongooseim application, else EJABBERD_CONFIG_PATH, else
%% the release's default path.
get_config_path() ->
    Default = case os:getenv("EJABBERD_CONFIG_PATH") of
                  false -> "etc/mongooseim.toml";
                  Path -> Path
              end,
    application:get_env(mongooseim, config, Default).
-endif.

-ifdef(HOST_TYPES).
get_global_option_or_default(Key, Default) ->
    case ets:lookup(config, Key) of
        [{config, _, V}] -> V;
        _ -> Default
    end.
-endif.
