%% Stanza counters of the stand-in, stored the way exometer and prometheus expose them on a real
%% node of the profile's release.
%%
%% exometer (read with exometer:get_values/1, a prefix match), spirals [{count, C}, {one, O}]:
%%   3.6-6.2  [Prefix, xmppMessageSent]: created for every host type at start-up
%%            (mongoose_metrics:init/0)
%%   6.3      [Prefix, c2s_element_in, message_count]: only with [instrumentation.exometer]
%%   6.4+     [Prefix, xmpp_element_in, c2s | s2s | component, message_count]: only with
%%            [instrumentation.exometer], for the connection types of the configured listeners
%%            (c2s and s2s: every host type and `global' for stanzas of no host type yet;
%%            component: `global' only; 6.4.0:src/instrument/mongoose_instrument_xmpp.erl)
%% Prefix is the host type with spaces replaced by "_", or `global' when all metrics are global.
%% prometheus (6.3+, only with [instrumentation.prometheus]): counters named
%%   6.3      "c2s_element_in_message_count", labels [{"host_type", HT}]
%%   6.4+     "xmpp_element_in_message_count", labels [{"connection_type", C}, {"host_type", HT}],
%%            HT = <<>> for the `global' events
%% set up at 0 when the listener starts (observed on 6.8.0). Initial totals are split over every
%% bucket, so readers must sum; decoy metrics that must not be summed sit next to them.
-module(mim_standin_metrics).

-export([setup/1, add/2, stanza_types/0, exometer_pattern/2, prometheus_name/2]).

-define(EXO, mim_standin_exometer).
-define(PROM, mim_standin_prometheus).

stanza_types() ->
    [xmppMessageSent, xmppMessageReceived, xmppIqSent, xmppIqReceived,
     xmppPresenceSent, xmppPresenceReceived].

setup(#{api := V} = P) ->
    ets:new(?EXO, [named_table, public, ordered_set]),
    ets:new(?PROM, [named_table, public, set]),
    Totals = maps:get(stanzas, P),
    case exometer_live(P) of
        true ->
            Buckets = exo_buckets(P),
            [insert_split(?EXO, [exo_name(V, Prefix, Type, Conn) || {Prefix, Conn} <- Buckets],
                          maps:get(Type, Totals, 0))
             || Type <- stanza_types()],
            ets:insert(?EXO, [{Name, 7, 1} || {Prefix, Conn} <- Buckets,
                                              Name <- exo_decoys(V, Prefix, Conn)]);
        false ->
            ok
    end,
    case prometheus_live(P) of
        true ->
            Labels = prom_buckets(P),
            Names = [prometheus_name(V, T) || T <- stanza_types()] ++ prom_decoys(V),
            Rows = [{{Name, L}, case lists:member(Name, prom_decoys(V)) of true -> 7; false -> 0 end}
                    || Name <- Names, L <- Labels],
            ets:insert(?PROM, [{Key, C, Seq} || {Seq, {Key, C}} <- lists:zip(lists:seq(1, length(Rows)), Rows)]),
            [add_split(?PROM, [{prometheus_name(V, Type), L} || L <- Labels], maps:get(Type, Totals, 0))
             || Type <- stanza_types()],
            persistent_term:put({mim_standin, prometheus_names}, Names);
        false ->
            case prometheus_running(P) of
                true -> persistent_term:put({mim_standin, prometheus_names}, []);
                false -> ok
            end
    end,
    ok.

%% exometer carries the stanza metrics on every node up to 6.2; from 6.3 only with
%% [instrumentation.exometer].
exometer_live(#{api := V}) when V < {6, 3, 0} -> true;
exometer_live(P) -> maps:is_key(exometer, mim_standin_era:instrumentation(P)).

prometheus_live(#{api := V} = P) ->
    V >= {6, 3, 0} andalso maps:is_key(prometheus, mim_standin_era:instrumentation(P)).

%% The prometheus application runs on every 6.3 node (prometheus_cowboy is one of mongooseim's
%% applications); from 6.4 mongoose_instrument_prometheus starts it when it is configured.
prometheus_running(#{api := V} = P) ->
    (V >= {6, 3, 0} andalso V < {6, 4, 0}) orelse prometheus_live(P).

%% Bump the first bucket (first host type, c2s) of every live backend.
add(all, N) ->
    [add(T, N) || T <- stanza_types()],
    ok;
add(Type, N) ->
    true = lists:member(Type, stanza_types()),
    P = mim_standin:profile(),
    V = maps:get(api, P),
    case exometer_live(P) andalso exo_buckets(P) of
        [{Prefix, Conn} | _] ->
            ets:update_counter(?EXO, exo_name(V, Prefix, Type, Conn), [{2, N}, {3, N}]);
        _ -> ok
    end,
    case prometheus_live(P) andalso prom_buckets(P) of
        [L | _] -> ets:update_counter(?PROM, {prometheus_name(V, Type), L}, {2, N});
        _ -> ok
    end,
    ok.

%% The exometer:get_values/1 pattern the collector of the release uses for a stanza type.
exometer_pattern(V, Type) when V < {6, 3, 0} -> ['_', Type];
exometer_pattern(V, Type) when V < {6, 4, 0} -> ['_', c2s_dir(Type), kind(Type)];
exometer_pattern(_V, Type) -> ['_', xmpp_dir(Type), '_', kind(Type)].

prometheus_name(V, Type) when V < {6, 4, 0} ->
    atom_to_list(c2s_dir(Type)) ++ "_" ++ atom_to_list(kind(Type));
prometheus_name(_V, Type) ->
    atom_to_list(xmpp_dir(Type)) ++ "_" ++ atom_to_list(kind(Type)).

%% ---------------------------------------------------------------------------------------------

insert_split(?EXO, Keys, Total) ->
    ets:insert(?EXO, [{Key, C, 0} || {Key, C} <- lists:zip(Keys, split(Total, length(Keys)))]).

add_split(?PROM, Keys, Total) ->
    [ets:update_counter(?PROM, Key, {2, C}) || {Key, C} <- lists:zip(Keys, split(Total, length(Keys)))].

split(_Total, 0) -> [];
split(Total, K) ->
    [Total div K + case I =< Total rem K of true -> 1; false -> 0 end || I <- lists:seq(1, K)].

exo_buckets(#{api := V} = P) when V < {6, 3, 0} ->
    [{Prefix, none} || Prefix <- host_prefixes(P)];
exo_buckets(#{api := V} = P) when V < {6, 4, 0} ->
    [{Prefix, c2s} || Prefix <- host_prefixes(P)];
exo_buckets(P) ->
    Global = [{global, Conn} || Conn <- connection_types(P)],
    PerHost = [{Prefix, Conn} || Conn <- connection_types(P), Conn =/= component,
                                 Prefix <- host_prefixes(P)],
    PerHost ++ Global.

prom_buckets(#{api := V} = P) when V < {6, 4, 0} ->
    [[{"host_type", HT}] || HT <- mim_standin_profile:host_types(P)];
prom_buckets(P) ->
    HTs = mim_standin_profile:host_types(P),
    [[{"connection_type", Conn}, {"host_type", HT}]
     || Conn <- connection_types(P),
        HT <- case Conn of component -> [<<>>]; _ -> HTs ++ [<<>>] end].

%% The XMPP connection types whose listeners are configured (6.4+ listener modules).
connection_types(P) ->
    Listeners = [M || #{module := M} <- maps:get(listen, maps:get(config, P), [])],
    [C || {M, C} <- [{mongoose_c2s_listener, c2s}, {mongoose_s2s_listener, s2s},
                     {mongoose_component_listener, component}],
          lists:member(M, Listeners)].

host_prefixes(P) ->
    case all_metrics_are_global(P) of
        true -> [global];
        false -> [binary:replace(HT, <<" ">>, <<"_">>, [global])
                  || HT <- mim_standin_profile:host_types(P)]
    end.

all_metrics_are_global(#{api := V, local := L}) when V < {5, 1, 0} ->
    proplists:get_value(all_metrics_are_global, L, false);
all_metrics_are_global(#{api := V, config := C}) when V < {6, 3, 0} ->
    maps:get(all_metrics_are_global, C, false);
all_metrics_are_global(P) ->
    maps:get(all_metrics_are_global, maps:get(exometer, mim_standin_era:instrumentation(P), #{}), false).

exo_name(V, Prefix, Type, _Conn) when V < {6, 3, 0} -> [Prefix, Type];
exo_name(V, Prefix, Type, _Conn) when V < {6, 4, 0} -> [Prefix, c2s_dir(Type), kind(Type)];
exo_name(_V, Prefix, Type, Conn) -> [Prefix, xmpp_dir(Type), Conn, kind(Type)].

%% Metrics that live next to the stanza counters and must not be summed into them.
exo_decoys(V, Prefix, _Conn) when V < {6, 3, 0} ->
    [[Prefix, xmppErrorTotal], [Prefix, sessionSuccessfulLogins]];
exo_decoys(V, Prefix, _Conn) when V < {6, 4, 0} ->
    [[Prefix, c2s_element_in, stanza_count], [Prefix, c2s_element_out, error_count]];
exo_decoys(_V, Prefix, Conn) ->
    [[Prefix, xmpp_element_in, Conn, stanza_count], [Prefix, xmpp_element_out, Conn, error_count]].

prom_decoys(V) when V < {6, 4, 0} -> ["c2s_element_in_stanza_count", "c2s_element_out_error_count"];
prom_decoys(_V) -> ["xmpp_element_in_stanza_count", "xmpp_element_out_error_count"].

c2s_dir(Type) -> case xmpp_dir(Type) of xmpp_element_in -> c2s_element_in; _ -> c2s_element_out end.

xmpp_dir(T) when T =:= xmppMessageSent; T =:= xmppIqSent; T =:= xmppPresenceSent -> xmpp_element_in;
xmpp_dir(_) -> xmpp_element_out.

kind(T) when T =:= xmppMessageSent; T =:= xmppMessageReceived -> message_count;
kind(T) when T =:= xmppIqSent; T =:= xmppIqReceived -> iq_count;
kind(_) -> presence_count.
