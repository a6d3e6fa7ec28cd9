import '@fontsource-variable/inter/wght.css';
import './styles.css';
import { App } from './app';

new App().boot();
