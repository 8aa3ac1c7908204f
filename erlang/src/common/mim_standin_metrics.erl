%% Stanza counters of the stand-in, stored the way exometer and prometheus would expose them.
%%
%% exometer names by generation (read with exometer:get_values/1, prefix match):
%%   <= 6.2   [Prefix, xmppMessageSent]                              (spiral)
%%   6.3      [Prefix, c2s_element_in, message_count]
%%   6.4+     [Prefix, xmpp_element_in, c2s | s2s | component, message_count]
%% Prefix is the host type with spaces replaced by "_" (a binary), or `global' when
%% all_metrics_are_global is set. Prometheus (6.4+ when instrumentation.prometheus is configured):
%% counter "xmpp_element_in_message_count" with labels [{connection_type, C}, {host_type, HT}].
%% Initial totals are split over all host types (and connection types), so readers must sum.
-module(mim_standin_metrics).

-export([setup/1, add/2, stanza_types/0, exometer_pattern/2, prometheus_name/1,
         exometer_live/1, prometheus_live/1]).

-define(EXO, mim_standin_exometer).
-define(PROM, mim_standin_prometheus).

stanza_types() ->
    [xmppMessageSent, xmppMessageReceived, xmppIqSent, xmppIqReceived,
     xmppPresenceSent, xmppPresenceReceived].

setup(#{api := Api} = P) ->
    ets:new(?EXO, [named_table, public, ordered_set]),
    ets:new(?PROM, [named_table, public, ordered_set]),
    Totals = maps:get(stanzas, P),
    case exometer_live(P) of
        true ->
            Buckets = exo_buckets(Api, P),
            [insert_split(?EXO, [exo_name(Api, Prefix, Type, Conn) || {Prefix, Conn} <- Buckets],
                          maps:get(Type, Totals, 0))
             || Type <- stanza_types()],
            ets:insert(?EXO, [{Name, 0, 0} || {Prefix, Conn} <- Buckets, Name <- exo_decoys(Api, Prefix, Conn)]);
        false -> ok
    end,
    case prometheus_live(P) of
        true ->
            Labels = prom_buckets(P),
            [insert_split(?PROM, [{prometheus_name(Type), L} || L <- Labels], maps:get(Type, Totals, 0))
             || Type <- stanza_types()],
            ets:insert(?PROM, [{{"xmpp_element_in_byte_size", L}, 1024} || L <- Labels]),
            persistent_term:put({mim_standin, prometheus_names},
                                ["xmpp_element_in_byte_size" | [prometheus_name(T) || T <- stanza_types()]]);
        false ->
            persistent_term:put({mim_standin, prometheus_names}, [])
    end,
    ok.

%% exometer carries the stanza metrics on every node up to 6.3; from 6.4 only when
%% instrumentation.exometer is configured.
exometer_live(#{api := {4, _}}) -> true;
exometer_live(#{api := {5, _}}) -> true;
exometer_live(#{api := {6, N}}) when N =< 3 -> true;
exometer_live(#{api := {6, _}} = P) -> maps:is_key(exometer, instrumentation(P));
exometer_live(_) -> false.

prometheus_live(#{api := {6, N}} = P) when N >= 4 -> maps:is_key(prometheus, instrumentation(P));
prometheus_live(_) -> false.

instrumentation(#{config := C}) -> maps:get(instrumentation, C, #{}).

%% Bump the first bucket (first host type, c2s) of every live backend.
add(all, N) ->
    [add(T, N) || T <- stanza_types()],
    ok;
add(Type, N) ->
    true = lists:member(Type, stanza_types()),
    P = mim_standin:profile(),
    Api = maps:get(api, P),
    case exometer_live(P) of
        true ->
            [{Prefix, Conn} | _] = exo_buckets(Api, P),
            ets:update_counter(?EXO, exo_name(Api, Prefix, Type, Conn), [{2, N}, {3, N}]);
        false -> ok
    end,
    case prometheus_live(P) of
        true ->
            [L | _] = prom_buckets(P),
            Key = {prometheus_name(Type), L},
            ets:update_counter(?PROM, Key, {2, N}, {Key, 0});
        false -> ok
    end,
    ok.

%% The exometer:get_values/1 pattern the collector of the generation uses for a stanza type.
exometer_pattern({6, 3}, Type) -> ['_', c2s_dir(Type), kind(Type)];
exometer_pattern({6, N}, Type) when N >= 4 -> ['_', xmpp_dir(Type), '_', kind(Type)];
exometer_pattern(_Api, Type) -> ['_', Type].

prometheus_name(Type) -> atom_to_list(xmpp_dir(Type)) ++ "_" ++ atom_to_list(kind(Type)).

%% ---------------------------------------------------------------------------------------------

insert_split(Table, Keys, Total) ->
    K = length(Keys),
    Counts = [Total div K + case I =< Total rem K of true -> 1; false -> 0 end
              || I <- lists:seq(1, K)],
    ets:insert(Table, [row(Table, Key, C) || {Key, C} <- lists:zip(Keys, Counts), keep(Table, C)]).

%% Exometer spirals exist from start-up; a prometheus label set appears once it is incremented.
keep(?EXO, _) -> true;
keep(?PROM, C) -> C > 0.

row(?EXO, Name, C) -> {Name, C, 0};
row(?PROM, Key, C) -> {Key, C}.

exo_buckets(Api, P) ->
    Prefixes = case all_metrics_are_global(P) of
                   true -> [global];
                   false -> [binary:replace(HT, <<" ">>, <<"_">>, [global])
                             || HT <- mim_standin_profile:host_types(P)]
               end,
    Conns = case Api of
                {6, N} when N >= 4 -> [c2s, s2s, component];
                _ -> [c2s]
            end,
    [{Prefix, Conn} || Prefix <- Prefixes, Conn <- Conns].

prom_buckets(P) ->
    [[{connection_type, Conn}, {host_type, HT}]
     || HT <- mim_standin_profile:host_types(P), Conn <- [c2s, s2s, component]].

all_metrics_are_global(#{api := {4, _}, local := L}) ->
    proplists:get_value(all_metrics_are_global, L, false);
all_metrics_are_global(#{config := C} = P) ->
    Exo = maps:get(exometer, instrumentation(P), #{}),
    maps:get(all_metrics_are_global, C, false) orelse maps:get(all_metrics_are_global, Exo, false).

exo_name({6, 3}, Prefix, Type, _Conn) -> [Prefix, c2s_dir(Type), kind(Type)];
exo_name({6, N}, Prefix, Type, Conn) when N >= 4 -> [Prefix, xmpp_dir(Type), Conn, kind(Type)];
exo_name(_Api, Prefix, Type, _Conn) -> [Prefix, Type].

%% Metrics that live next to the stanza counters and must not be summed into them.
exo_decoys({6, 3}, Prefix, _Conn) ->
    [[Prefix, c2s_element_in, byte_size], [Prefix, c2s_element_out, stanza_count]];
exo_decoys({6, N}, Prefix, Conn) when N >= 4 ->
    [[Prefix, xmpp_element_in, Conn, byte_size], [Prefix, xmpp_element_out, Conn, stanza_count]];
exo_decoys(_Api, Prefix, _Conn) ->
    [[Prefix, xmppErrorTotal], [Prefix, sessionSuccessfulLogins]].

c2s_dir(Type) -> case xmpp_dir(Type) of xmpp_element_in -> c2s_element_in; _ -> c2s_element_out end.

xmpp_dir(T) when T =:= xmppMessageSent; T =:= xmppIqSent; T =:= xmppPresenceSent -> xmpp_element_in;
xmpp_dir(_) -> xmpp_element_out.

kind(T) when T =:= xmppMessageSent; T =:= xmppMessageReceived -> message_count;
kind(T) when T =:= xmppIqSent; T =:= xmppIqReceived -> iq_count;
kind(_) -> presence_count.
