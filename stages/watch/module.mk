PROGRAMS += tmc-watch
tmc-watch_SRCS := $(wildcard stages/watch/*.c)
tmc-watch_USES := stage conf spool
# tests/unit/test_watch.c links the watcher's parts (all but main.c); the
# libraries are named again after them for the linker.
$(BUILD)/tests/test_watch: $(call objs,$(filter-out stages/watch/main.c,$(tmc-watch_SRCS)))
$(BUILD)/tests/test_watch: CMOCKA_LIBS += $(LIBSTAGE) $(LIBCONF) $(LIBSPOOL) $(LIBUTIL)
$(BUILD)/obj/tests/unit/test_watch.o: CFLAGS += -Istages/watch
