%% Stand-in for mongoose_cluster: the MongooseIM cluster members, this node first.
-module(mongoose_cluster).

-export([all_cluster_nodes/0, other_cluster_nodes/0]).

all_cluster_nodes() ->
    [node() | other_cluster_nodes()].

other_cluster_nodes() ->
    lists:usort(mim_standin:members()) -- [node()].
