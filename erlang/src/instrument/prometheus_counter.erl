%% Stand-in for the prometheus.erl counter API that MongooseIM 6.6+'s collector uses.
%% values(default, Name), Name a charlist such as "xmpp_element_in_message_count":
%% [{[{connection_type, C}, {host_type, HT}], Count}] for every label set incremented so far.
%% An undeclared metric raises {unknown_metric, Registry, Name}.
-module(prometheus_counter).

-export([values/2]).

values(default, Name) ->
    Key = to_list(Name),
    case lists:member(Key, persistent_term:get({mim_standin, prometheus_names}, [])) of
        true -> ets:select(mim_standin_prometheus, [{{{Key, '$1'}, '$2'}, [], [{{'$1', '$2'}}]}]);
        false -> erlang:error({unknown_metric, default, Name})
    end;
values(Registry, Name) ->
    erlang:error({unknown_metric, Registry, Name}).

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(B) when is_binary(B) -> binary_to_list(B);
to_list(L) when is_list(L) -> L.
