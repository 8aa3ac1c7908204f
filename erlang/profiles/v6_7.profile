%% v6_7: the v6_6 node on MongooseIM 6.7.0. Exercises the 6.7 module set: mod_caps lost the
%% metrics behaviour (now counted as custom; mod_jingle_sip is gone), and ejabberd_router does
%% not exist any more (components come from mongoose_component; a call into ejabberd_router is a
%% call into a missing module).
{inherit, "v6_6"}.
{version, "6.7.0"}.
{cluster_id, <<"ephemeral-67676767-67a6-4b67-8c67-5ec2e7420067">>}.
{config_path, "/opt/secret-install-67/etc/mongooseim.toml"}.
