%% Profiles: erlang/profiles/<name>.profile, Erlang terms read with file:consult/1.
%%
%% Keys (see erlang/README.md "Profile format" for the full description):
%%   {inherit, "small"}                  start from another profile (same directory), then apply
%%                                       this file's keys on top
%%   {update, Key, MapOrProplist}        merge into the inherited value of Key (maps:merge, or
%%                                       lists:keystore per element); {remove, Key, [SubKey]}
%%   {version, "6.2.1"}                  vsn of the mongooseim application; selects the release
%%   {api, "6.2.1"} | {api, not_mim}     pin the release rules independently of version
%%   {cluster_id, <<"...">> | none}      cached cluster id
%%   {config_path, "/.../mongooseim.toml"}
%%   {config, #{...}}                    5.1+: top-level config keys except modules
%%   {module_sets, [{Name, #{Mod => Opts}}]}
%%   {modules, [{HostType, [SetName | #{Mod => Opts} | {without, [Mod]}]}]}   5.1+
%%   {modules, [{Host, [{Mod, Proplist}]}]}                                     3.6-5.0
%%   {global, [{K, V}]}, {local, [{K, V}]}   3.6-5.0 ejabberd_config global / local options
%%   {domains, [{Domain, HostType}]}     dynamic domains (5.0+)
%%   {components, [{Domain, local | remote | {remote, Node}}]}
%%   {stanzas, [{StanzaType, Total}]}    initial counter values
%%   {service_running, auto | true | false}, {service_reported, auto | true | false}
%%   {code_mode, interactive | embedded}, {path_size, N}
-module(mim_standin_profile).

-export([load/3, parse_version/1, host_types/1, modules/1, old_config/1]).

load(Path, Overrides, Name) ->
    P0 = maps:merge(defaults(Path, Name), read(Path, 0)),
    P1 = maps:merge(P0, Overrides),
    P2 = P1#{api => api(P1)},
    normalise(P2).

%% The profile's own keys over those of the profile it inherits from.
read(Path, Depth) when Depth < 10 ->
    Terms = case file:consult(Path) of
                {ok, T} -> T;
                {error, E} -> error({bad_profile, Path, E})
            end,
    Base = case lists:keyfind(inherit, 1, Terms) of
               {inherit, Parent} ->
                   read(filename:join(filename:dirname(Path), Parent ++ ".profile"), Depth + 1);
               false ->
                   #{}
           end,
    lists:foldl(fun apply_term/2, Base, Terms);
read(Path, _) ->
    error({profile_inheritance_too_deep, Path}).

apply_term({inherit, _}, P) -> P;
apply_term({update, Key, New}, P) -> P#{Key => merge(maps:get(Key, P, empty(New)), New)};
apply_term({remove, Key, SubKeys}, P) -> P#{Key => without(maps:get(Key, P), SubKeys)};
apply_term({Key, Value}, P) -> P#{Key => Value}.

empty(M) when is_map(M) -> #{};
empty(L) when is_list(L) -> [].

merge(Old, New) when is_map(Old), is_map(New) -> maps:merge(Old, New);
merge(Old, New) when is_list(Old), is_list(New) ->
    lists:foldl(fun(T, Acc) -> lists:keystore(element(1, T), 1, Acc, T) end, Old, New).

without(Old, Keys) when is_map(Old) -> maps:without(Keys, Old);
without(Old, Keys) when is_list(Old) -> [T || T <- Old, not lists:member(element(1, T), Keys)].

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
      service_running => auto,
      service_reported => auto,
      code_mode => interactive,
      path_size => 87}.

%% The release whose rules the node follows: {api, Vsn} if given, else the version.
api(#{api := not_mim}) -> not_mim;
api(#{api := Api}) -> parse_version(Api);
api(#{version := Vsn}) -> parse_version(Vsn).

%% "6.2.1", "6.2.1-17-g0abc123" -> {6, 2, 1}; "6.2" -> {6, 2, 0}.
parse_version({_, _, _} = V) -> V;
parse_version(S) when is_list(S) ->
    case re:run(S, "^(\\d+)\\.(\\d+)(?:\\.(\\d+))?", [{capture, all_but_first, list}]) of
        {match, [Ma, Mi]} -> {list_to_integer(Ma), list_to_integer(Mi), 0};
        {match, [Ma, Mi, Pa]} -> {list_to_integer(Ma), list_to_integer(Mi), list_to_integer(Pa)};
        nomatch -> error({bad_version, S})
    end.

%% Releases before 5.1 keep their configuration in ejabberd_config (proplists).
old_config(#{api := not_mim}) -> false;
old_config(#{api := V}) -> V < {5, 1, 0}.

normalise(#{api := not_mim} = P) -> P;
normalise(P) ->
    case old_config(P) of
        true -> P#{stanzas := maps:from_list(stanza_list(P))};
        false -> normalise_config(P)
    end.

normalise_config(P) ->
    Config0 = maps:get(config, P),
    %% 6.3+ always has the `instrumentation' section (include = always, probe_interval 15).
    Instrumentation = [{instrumentation, #{probe_interval => 15}} || maps:get(api, P) >= {6, 3, 0}],
    Config1 = maps:merge(maps:from_list([{hosts, []}, {host_types, []}, {listen, []},
                                         {outgoing_pools, []}, {services, #{}} | Instrumentation]),
                         Config0),
    Config2 = maps:merge(Config1, #{services => maps:map(fun service_defaults/2,
                                                         maps:get(services, Config1))}),
    HTs = maps:get(hosts, Config2) ++ maps:get(host_types, Config2),
    Sets = maps:from_list(maps:get(module_sets, P)),
    Given = maps:from_list([{HT, expand(Entries, Sets)} || {HT, Entries} <- maps:get(modules, P)]),
    [error({modules_for_unknown_host_type, HT}) || HT <- maps:keys(Given), not lists:member(HT, HTs)],
    Config = maps:merge(Config2, maps:from_list([{{modules, HT}, maps:get(HT, Given, #{})}
                                                  || HT <- HTs])),
    P#{config := Config, stanzas := maps:from_list(stanza_list(P))}.

%% The config spec's defaults of the system-metrics service (5.1+: 5 minutes / 3 hours).
service_defaults(service_mongoose_system_metrics, Opts) ->
    maps:merge(#{initial_report => 300000, periodic_report => 10800000}, Opts);
service_defaults(_, Opts) ->
    Opts.

expand(Entries, Sets) when is_list(Entries) ->
    lists:foldl(fun(Name, Acc) when is_atom(Name) -> maps:merge(Acc, maps:get(Name, Sets));
                   ({without, Mods}, Acc) -> maps:without(Mods, Acc);
                   (Map, Acc) when is_map(Map) -> maps:merge(Acc, Map)
                end, #{}, Entries);
expand(Map, _Sets) when is_map(Map) -> Map.

stanza_list(#{stanzas := S}) when is_map(S) -> maps:to_list(S);
stanza_list(#{stanzas := S}) when is_list(S) -> S.

%% Every host type of the profile, in config order (hosts first).
host_types(#{api := not_mim}) -> [];
host_types(#{global := G} = P) ->
    case old_config(P) of
        true -> proplists:get_value(hosts, G, []) ++ proplists:get_value(host_types, G, []);
        false -> host_types_new(P)
    end.

host_types_new(#{config := C}) -> maps:get(hosts, C) ++ maps:get(host_types, C).

%% [{HostType, [module()]}] as configured.
modules(#{api := not_mim}) -> [];
modules(#{modules := Ms, config := C} = P) ->
    case old_config(P) of
        true -> [{H, [M || {M, _} <- L]} || {H, L} <- Ms];
        false -> [{HT, maps:keys(maps:get({modules, HT}, C))} || HT <- host_types_new(P)]
    end.
