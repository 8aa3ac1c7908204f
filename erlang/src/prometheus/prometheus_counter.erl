%% Stand-in for the counter API of the prometheus library (a dependency of MongooseIM from 6.3;
%% its collector reads it from 6.6). values(default, Name), Name a charlist such as
%% "xmpp_element_in_message_count": [{[{"connection_type", C}, {"host_type", HT}], Count}], one
%% entry per label set MongooseIM has set up (initialised to 0 when the instrumentation event is
%% set up, as observed on 6.8.0), in the order they were set up.
%% A name no event declared raises {unknown_metric, default, Name}; when the prometheus
%% application is not running (6.4+ starts it only with [instrumentation.prometheus]) its registry
%% table is missing and the call fails with badarg, as the library's ets lookup would.
-module(prometheus_counter).

-export([values/2]).

values(Registry, Name) ->
    case persistent_term:get({mim_standin, prometheus_names}, not_running) of
        not_running ->
            erlang:error(badarg);
        Names ->
            Key = to_list(Name),
            case Registry =:= default andalso lists:member(Key, Names) of
                true ->
                    Rows = ets:select(mim_standin_prometheus,
                                      [{{{Key, '$1'}, '$2', '$3'}, [], [{{'$3', '$1', '$2'}}]}]),
                    [{Labels, Count} || {_Seq, Labels, Count} <- lists:sort(Rows)];
                false ->
                    erlang:error({unknown_metric, Registry, Name})
            end
    end.

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(B) when is_binary(B) -> binary_to_list(B);
to_list(L) when is_list(L) -> L.
