// Turns transferred ImageBitmaps into pixels on one reused OffscreenCanvas
// (the models' workers read a frame a second; a new canvas each time would
// churn memory).

export class BitmapPixels {
  private canvas: OffscreenCanvas | null = null;
  private ctx: OffscreenCanvasRenderingContext2D | null = null;

  read(bitmap: ImageBitmap): ImageData {
    const { width, height } = bitmap;
    if (!this.canvas || this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas = new OffscreenCanvas(width, height);
      this.ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    }
    if (!this.ctx) throw new Error('no 2d context on OffscreenCanvas');
    this.ctx.drawImage(bitmap, 0, 0);
    return this.ctx.getImageData(0, 0, width, height);
  }
}
