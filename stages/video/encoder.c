/*
 * encoder.c - which H.264 encoder tmc-video uses, chosen once at start and
 * logged: the first of TMC_H264_ENCODERS (default "libx264,libopenh264")
 * this FFmpeg has, else whatever avcodec_find_encoder(AV_CODEC_ID_H264)
 * offers. libx264 is first for its quality per bit; libopenh264 is what
 * Fedora's and EPEL's ffmpeg-free have (no x264 there), so a RHEL-family
 * host without RPM Fusion still transcodes. Only libx264 takes the preset
 * and CRF; the others get the step's bitrate as their target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "video.h"

#define ENCODERS_DEFAULT "libx264,libopenh264"

static const AVCodec *chosen;
static bool chosen_done;

/* An encoder of that name that makes H.264, or NULL. */
static const AVCodec *
h264_by_name(const char *name)
{
	const AVCodec *c = avcodec_find_encoder_by_name(name);

	return c && c->id == AV_CODEC_ID_H264 ? c : NULL;
}

/* The first of the comma-separated names this FFmpeg has; the names it
 * lacks are listed into skipped for the start line. */
static const AVCodec *
first_of(const char *list, char *skipped, size_t len)
{
	char *names = strdup(list), *save = NULL, *name;
	const AVCodec *c = NULL;

	for (name = names ? strtok_r(names, ", ", &save) : NULL; name && !c;
	     name = strtok_r(NULL, ", ", &save)) {
		if ((c = h264_by_name(name)) == NULL)
			snprintf(skipped + strlen(skipped), len - strlen(skipped), "%s%s",
				 skipped[0] ? ", " : "", name);
	}
	free(names);
	return c;
}

const AVCodec *
video_h264_encoder(void)
{
	const char *list = getenv("TMC_H264_ENCODERS");
	char skipped[256] = "";

	if (chosen_done)
		return chosen;
	chosen_done = true;
	if (list == NULL || *list == '\0')
		list = ENCODERS_DEFAULT;
	if ((chosen = first_of(list, skipped, sizeof(skipped))) != NULL) {
		log_info("H.264 encoder: %s%s%s%s", chosen->name,
			 skipped[0] ? " (this FFmpeg has no " : "", skipped, skipped[0] ? ")" : "");
		return chosen;
	}
	if ((chosen = avcodec_find_encoder(AV_CODEC_ID_H264)) != NULL) {
		log_info("H.264 encoder: %s, FFmpeg's default (this FFmpeg has no %s)",
			 chosen->name, skipped);
		return chosen;
	}
	log_warnx("no H.264 encoder in this FFmpeg (looked for %s and any other): "
		  "transcodes fail, frame captures work",
		  list);
	return NULL;
}

void
video_encoder_options(const AVCodec *codec, AVCodecContext *e, AVDictionary **opts,
		      const char *preset, int bitrate)
{
	e->rc_max_rate = (int64_t)bitrate * 1000;
	e->rc_buffer_size = bitrate * 1000;
	if (strcmp(codec->name, "libx264") == 0) {
		/* CRF 23 capped by VBV at the step's bitrate */
		av_dict_set(opts, "preset", preset ? preset : "veryfast", 0);
		av_dict_set(opts, "crf", VIDEO_CRF, 0);
	} else {
		e->bit_rate = (int64_t)bitrate * 1000;
	}
}
