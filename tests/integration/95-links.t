#!/bin/bash
# Link discipline: each program loads only the libraries of its own work,
# so a decoder's attack surface stays in the process that needs it. Read
# from the ELF's NEEDED entries (readelf), not from ldd (which resolves
# what the libraries themselves pull in).
. "$TMC_SRC/tests/lib/tap.sh"

needed() { readelf -d "$BIN/$1" | sed -n 's/.*(NEEDED).*\[\(lib[^.]*\).*/\1/p' | sort | tr '\n' ' '; }
has() { case " $(needed "$1") " in *" $2 "*) return 0 ;; esac; return 1; }

plan 9
# nettle only for SHA-256, which names a job's inline template (config/inline.c)
! has tmcwatch libcurl && ! has tmcwatch libmicrohttpd && ! has tmcwatch libGraphicsMagick &&
	! has tmcwatch libavcodec
ok $? "tmcwatch (the supervisor) links no HTTP or decoder library: $(needed tmcwatch)"
has tmc-httpd libnettle && has tmc-httpd libmicrohttpd && ! has tmc-httpd libGraphicsMagick &&
	! has tmc-httpd libavcodec && ! has tmc-httpd libcurl
ok $? "tmc-httpd links libmicrohttpd and nettle, no decoder: $(needed tmc-httpd)"
has tmc-notify libnettle && has tmc-notify libcurl
ok $? "tmc-notify signs with nettle and sends with libcurl: $(needed tmc-notify)"
! has tmc-jobs libGraphicsMagick && ! has tmc-jobs libavcodec
ok $? "tmc-jobs links no decoder: $(needed tmc-jobs)"
! has tmc-video libGraphicsMagick
ok $? "tmc-video links no GraphicsMagick: $(needed tmc-video)"
! has tmc-copy libGraphicsMagick && ! has tmc-copy libavcodec
ok $? "tmc-copy links no decoder: $(needed tmc-copy)"
! has tmc-image libavcodec && ! has tmc-image libavformat && ! has tmc-image libavutil &&
	! has tmc-image libswscale && has tmc-image libGraphicsMagick-Q16
ok $? "tmc-image links GraphicsMagick and no libav* (an mp4's frame is tmc-video --capture's): $(needed tmc-image)"
has tmc-remote libgearman && has tmc-remote libnettle && ! has tmc-remote libGraphicsMagick &&
	! has tmc-remote libavcodec && ! has tmc-remote libcurl
ok $? "tmc-remote links libgearman and nettle (the MAC), no decoder: $(needed tmc-remote)"
has tmc-gworker libgearman && has tmc-gworker libnettle && ! has tmc-gworker libGraphicsMagick &&
	! has tmc-gworker libavcodec && ! has tmc-gworker libcurl
ok $? "tmc-gworker links libgearman and nettle, no decoder, no HTTP: $(needed tmc-gworker)"
