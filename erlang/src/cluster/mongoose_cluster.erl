%% Stand-in for mongoose_cluster (mongooseimctl join_cluster / leave_cluster). Cluster membership
%% of a stand-in is set up by mim_standin:join/1 when the launcher starts a StandInCluster, so
%% join/1 works, while leaving or removing a node is not modelled.
%%
%% Compiled twice (erlang/launcher.py LAYER_VARIANTS): cluster_3_6 for 3.6-5.0, cluster_5_1 with
%% all_cluster_nodes/0 and other_cluster_nodes/0, which exist from 5.1
%% (3.6.0/5.1.0:src/mongoose_cluster.erl, the -export lists).
-module(mongoose_cluster).

-export([join/1, leave/0, remove_from_cluster/1, is_node_alive/1]).
-ifdef(CLUSTER_NODES).
-export([all_cluster_nodes/0, other_cluster_nodes/0]).
-endif.

join(ClusterMember) ->
    mim_standin:join(ClusterMember).

leave() ->
    {error, leaving_a_cluster_is_not_modelled_by_the_stand_in}.

remove_from_cluster(_Node) ->
    {error, removing_a_node_is_not_modelled_by_the_stand_in}.

is_node_alive(Node) ->
    net_adm:ping(Node) =:= pong.

-ifdef(CLUSTER_NODES).
all_cluster_nodes() ->
    [node() | other_cluster_nodes()].

other_cluster_nodes() ->
    lists:usort(mim_standin:members()) -- [node()].
-endif.
