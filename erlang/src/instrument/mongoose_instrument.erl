%% Marker for MongooseIM 6.3+: the instrumentation framework exists.
-module(mongoose_instrument).
