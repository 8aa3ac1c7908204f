%% Profiles: erlang/profiles/<name>.profile, Erlang terms read with file:consult/1.
%%
%% Keys (see erlang/README.md for the full description):
%%   {api, "6.2"} | {api, not_mim}       API generation; selects the code layers
%%   {version, "6.2.1"}                  vsn of the mongooseim application
%%   {cluster_id, <<"...">> | none}      cached cluster id
%%   {config_path, "/.../mongooseim.toml"}
%%   {config, #{...}}                    5.1+: top-level config keys except modules
%%   {module_sets, [{Name, #{Mod => Opts}}]}
%%   {modules, [{HostType, [SetName | #{Mod => Opts} | {without, [Mod]}]}]}   5.1+
%%   {modules, [{Host, [{Mod, Proplist}]}]}                                     4.x
%%   {global, [{K, V}]}, {local, [{K, V}]}   4.x ejabberd_config global / local options
%%   {domains, [{Domain, HostType}]}     dynamic domains (5.1+)
%%   {components, [{Domain, local | remote}]}
%%   {stanzas, [{StanzaType, Total}]}    initial counter values
%%   {service_running, auto | true | false}
-module(mim_standin_profile).

-export([load/3, parse_api/1, host_types/1, modules/1]).

load(Path, Overrides, Name) ->
    Terms = case file:consult(Path) of
                {ok, T} -> T;
                {error, E} -> error({bad_profile, Path, E})
            end,
    P0 = maps:merge(defaults(Path, Name), maps:from_list(Terms)),
    P1 = maps:merge(P0, Overrides),
    P2 = P1#{api := parse_api(maps:get(api, P1))},
    normalise(P2).

defaults(Path, Name) ->
    #{name => case Name of
                  undefined -> filename:basename(Path, ".profile");
                  _ -> Name
              end,
      version => "0.0.0",
      cluster_id => none,
      config_path => "/etc/mongooseim/mongooseim.toml",
      config => #{},
      module_sets => [],
      modules => [],
      global => [],
      local => [],
      domains => [],
      components => [],
      stanzas => [],
      service_running => auto}.

parse_api(not_mim) -> not_mim;
parse_api({_, _} = Api) -> Api;
parse_api(S) when is_list(S) ->
    case [list_to_integer(X) || X <- string:split(S, ".", all)] of
        [Major] -> {Major, 0};
        [Major, Minor | _] -> {Major, Minor}
    end.

normalise(#{api := not_mim} = P) -> P;
normalise(#{api := {4, _}} = P) ->
    P#{stanzas := maps:from_list(stanza_list(P))};
normalise(P) ->
    Config0 = maps:get(config, P),
    Config1 = maps:merge(#{hosts => [], host_types => [], listen => [], outgoing_pools => [],
                           services => #{}}, Config0),
    HTs = maps:get(hosts, Config1) ++ maps:get(host_types, Config1),
    Sets = maps:from_list(maps:get(module_sets, P)),
    Given = maps:from_list([{HT, expand(Entries, Sets)} || {HT, Entries} <- maps:get(modules, P)]),
    [error({modules_for_unknown_host_type, HT}) || HT <- maps:keys(Given), not lists:member(HT, HTs)],
    Config = maps:merge(Config1, maps:from_list([{{modules, HT}, maps:get(HT, Given, #{})}
                                                  || HT <- HTs])),
    P#{config := Config, stanzas := maps:from_list(stanza_list(P))}.

expand(Entries, Sets) when is_list(Entries) ->
    lists:foldl(fun(Name, Acc) when is_atom(Name) -> maps:merge(Acc, maps:get(Name, Sets));
                   ({without, Mods}, Acc) -> maps:without(Mods, Acc);
                   (Map, Acc) when is_map(Map) -> maps:merge(Acc, Map)
                end, #{}, Entries);
expand(Map, _Sets) when is_map(Map) -> Map.

stanza_list(#{stanzas := S}) when is_map(S) -> maps:to_list(S);
stanza_list(#{stanzas := S}) when is_list(S) -> S.

%% Every host type of the profile, in config order (hosts first).
host_types(#{api := {4, _}, global := G}) -> proplists:get_value(hosts, G, []);
host_types(#{config := C}) -> maps:get(hosts, C) ++ maps:get(host_types, C);
host_types(_) -> [].

%% [{HostType, [module()]}] as configured.
modules(#{api := {4, _}, modules := Ms}) -> [{H, [M || {M, _} <- L]} || {H, L} <- Ms];
modules(#{config := C} = P) -> [{HT, maps:keys(maps:get({modules, HT}, C))} || HT <- host_types(P)];
modules(_) -> [].
