%% Stand-in for ejabberd_config of MongooseIM 4.x (before mongoose_config existed).
%% Global options: ets config with {config, Key, Value}; per-node options: ets local_config with
%% {local_config, Key, Value}. Missing options read as `undefined'.
-module(ejabberd_config).

-export([get_global_option/1, get_global_option_or_default/2,
         get_local_option/1, get_local_option/2, get_local_option_or_default/2,
         get_config_path/0]).

get_global_option(Key) ->
    case ets:lookup(config, Key) of
        [{config, _, V}] -> V;
        [] -> undefined
    end.

get_global_option_or_default(Key, Default) ->
    case get_global_option(Key) of
        undefined -> Default;
        V -> V
    end.

get_local_option(Key) ->
    case ets:lookup(local_config, Key) of
        [{local_config, _, V}] -> V;
        [] -> undefined
    end.

get_local_option(Key, Host) ->
    get_local_option({Key, Host}).

get_local_option_or_default(Key, Default) ->
    case get_local_option(Key) of
        undefined -> Default;
        V -> V
    end.

%% A charlist: the `config' env of the mongooseim application, else EJABBERD_CONFIG_PATH.
get_config_path() ->
    application:get_env(mongooseim, config,
                        os:getenv("EJABBERD_CONFIG_PATH", "etc/mongooseim.toml")).
