/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small signal measurements on 16-bit linear audio: the power of one
 * frequency (Goertzel), mean-square energy, and decibels.
 *
 * Pure functions: no state, no allocation; any thread may call them.
 *
 * Powers are relative to full scale, so dsp_db() of any of them is in dBFS:
 * 1.0 is a square wave at ±32768, and a full-scale sine is 0.5 (−3.01 dBFS,
 * the convention sox's "RMS lev dB" uses). dsp_goertzel_power() and
 * dsp_energy() are on the same scale: a pure tone at the analysed frequency
 * gives (nearly) the same value from both.
 *
 * n counts the samples analysed (per channel); stride is the distance between
 * them in the array, so stride 2 with x and x + 1 reads the left and right
 * channel of interleaved stereo. A stride of 0 is taken as 1.
 */
#ifndef TRUNKREC_CODEC_DSP_H
#define TRUNKREC_CODEC_DSP_H

#include <stddef.h>
#include <stdint.h>

/* Power of the component at freq Hz (any real frequency below rate/2). */
double dsp_goertzel_power(const int16_t *x, size_t n, size_t stride, double freq, double rate);

/* Mean square of the samples; 0 for n == 0. */
double dsp_energy(const int16_t *x, size_t n, size_t stride);

/* 10·log10(power); powers at or below 1e-20 (and NaN) read as −200 dB. */
double dsp_db(double power);

#endif
