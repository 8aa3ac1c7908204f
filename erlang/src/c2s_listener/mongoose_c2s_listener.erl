%% Marker for MongooseIM 6.1+: the new c2s listener module exists (listener maps name it in
%% `module'). The stand-in listens on nothing.
-module(mongoose_c2s_listener).
